"""Devices: sources that publish LSL streams (one module per kind of source).

``labkit.devices.sim`` is the simulated lab (athlete, force plates, EMG, motion capture,
ground truth); see ``docs/devices.md``. Devices never know about HDF5.
"""
