"""labkit.protocol."""
