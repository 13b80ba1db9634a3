"""LSL conventions: stream metadata, outlets, resolving, inlets and clock offsets.

Importing this package imports pylsl (and liblsl); ``import labkit`` does not.
"""
