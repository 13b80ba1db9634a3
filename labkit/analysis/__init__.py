"""labkit.analysis."""
