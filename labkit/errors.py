"""One exception hierarchy for labkit.

Every message says what is wrong (file, field or argument and the bad value) and how to
fix it, on one line, so that the CLI can print it as it is.
"""

from __future__ import annotations


class LabkitError(Exception):
    """Base class of every error labkit raises on purpose."""


class ConfigError(LabkitError, ValueError):
    """A configuration, protocol file or argument is invalid."""


class SessionError(LabkitError):
    """A session file cannot be created, read or written."""


class NotASessionError(SessionError):
    """The file is not an HDF5 file, or an HDF5 file of another format."""


class SessionVersionError(SessionError):
    """The session file was written by a newer format version than this labkit reads."""


class SessionNeedsRepairError(SessionError):
    """The session was not closed cleanly and needs `labkit repair`."""


class SessionWriteError(SessionError):
    """Writing a session file failed (disk full, file-size limit, I/O error).

    The writer stops at the first failed write and never writes to the file again; what
    it committed before stays readable (an exact prefix) and ``labkit repair`` makes the
    file a normal one once it is on a disk with space. ``path`` is the file, ``errno`` the
    error number of the failed write (``errno.ENOSPC`` for a full disk) when known.
    """

    def __init__(self, message: str, *, path: object = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class StreamError(LabkitError, KeyError):
    """A stream name, type or shape does not match what the session holds."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""


class SignalError(LabkitError, ValueError):
    """Input to a signal-processing function is invalid (shape, rate, parameter)."""


class DeviceError(LabkitError):
    """A device or driver failed or is missing."""


class LabkitWarning(UserWarning):
    """Base class of every warning labkit issues on purpose (filter them all at once)."""


class LowDiskSpaceWarning(LabkitWarning):
    """The disk may fill before the recording ends (free space below the expected size)."""


class EMGWarning(LabkitWarning):
    """An EMG parameter was adjusted (e.g. a cutoff clamped below Nyquist)."""
