"""Replaying recorded sessions as LSL streams (above the session reader and the LSL layer)."""

from labkit.playback.player import SessionPlayer

__all__ = ["SessionPlayer"]
