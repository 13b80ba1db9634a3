"""labkit.record."""
