"""labkit.lsl."""
