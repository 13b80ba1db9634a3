"""Keep LSL on this machine: loopback-only configuration for tests and the simulated lab.

liblsl reads its configuration once, at its first use in a process, from the file named
by ``LSLAPICFG``. :func:`configure_loopback` writes such a file (resolve scope: machine;
known peer: localhost; a session id so that independent test runs never see each
other's streams) and points ``LSLAPICFG`` at it; child processes inherit it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# PortRange: without multicast on the loopback interface (as on some CI machines), liblsl
# finds streams by a unicast sweep of the port range only; the default 32 ports run out
# with a few labs on one machine, and outlets on random ports beyond it become invisible
# (seen: 17 of 40 outlets found with 32 ports, 40 of 40 with 1024).
CONFIG_TEMPLATE = """\
[ports]
IPv6 = disable
PortRange = 1024

[multicast]
ResolveScope = machine

[lab]
KnownPeers = {{127.0.0.1}}
SessionID = {session_id}

[log]
level = -2
"""


def configure_loopback(session_id: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Write an ``lsl_api.cfg`` that keeps LSL on loopback and set ``LSLAPICFG`` to it.

    Must run before pylsl is first used in this process.

    Parameters
    ----------
    session_id : str
        liblsl session id; only streams with the same id are visible to each other.
    directory : path, optional
        Where to write the file (default: a new temporary directory).

    Returns
    -------
    Path
        The configuration file.
    """
    folder = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="labkit-lsl-"))
    path = folder / "lsl_api.cfg"
    path.write_text(CONFIG_TEMPLATE.format(session_id=session_id))
    os.environ["LSLAPICFG"] = str(path)
    return path
