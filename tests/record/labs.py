"""Hardware configs for recorder tests: the simulated lab with a unique source prefix."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from labkit.config.hardware import DEFAULT_CONFIG, HardwareConfig, load_hardware_config


def lab_config(devices=("force", "emg", "mocap", "truth"), *, faults: dict[str, Any] | None = None,
               flush_interval_s: float = 0.25, prefix: str | None = None
               ) -> tuple[HardwareConfig, str]:
    """The default simulated lab, cut to ``devices``, with per-device faults."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["source_prefix"] = prefix or f"rec{uuid.uuid4().hex[:10]}"
    data["devices"] = [d for d in data["devices"] if d["name"] in devices]
    for d in data["devices"]:
        if faults and d["name"] in faults:
            d["faults"] = faults[d["name"]]
    data["recording"].update(streams=list(devices), flush_interval_s=flush_interval_s,
                             clock_offset_interval_s=1.0, resolve_timeout_s=20)
    return load_hardware_config("test-lab.yaml", text=yaml.safe_dump(data, sort_keys=False))
