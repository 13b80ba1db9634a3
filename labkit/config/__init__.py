"""labkit.config."""
