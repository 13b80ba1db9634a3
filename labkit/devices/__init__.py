"""labkit.devices."""
