"""Keep LSL on this machine: loopback-only configuration for tests and the simulated lab.

liblsl reads its configuration once, at its first use in a process, from the file named
by ``LSLAPICFG``. :func:`configure_loopback` writes such a file (resolve scope: machine;
known peer: localhost; a session id so that independent test runs never see each
other's streams) and points ``LSLAPICFG`` at it; child processes inherit it.

liblsl's own log stays off the technician's terminal: ``[log] level = -3`` lets only its
fatal messages through (valid levels are -3 to 9; -2 would also print errors such as
"Stream transmission broke off" when an outlet goes away at the end of a run, which labkit's
device health already reports as a stalled stream). To see liblsl's messages, set
``LABKIT_LSL_LOG`` to a file: the configuration then sends them there (``[log] file``,
errors and warnings), and labkit logs the file's name at debug level.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

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
level = {log_level}
{log_file}"""

#: environment variable naming a file for liblsl's own log (debugging LSL itself)
LOG_ENV = "LABKIT_LSL_LOG"


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
    log_file = os.environ.get(LOG_ENV, "")
    path.write_text(CONFIG_TEMPLATE.format(session_id=session_id, log_level=-1 if log_file else -3,
                                           log_file=f"file = {log_file}\n" if log_file else ""))
    os.environ["LSLAPICFG"] = str(path)
    log.debug("liblsl configured by %s; its log %s", path,
              f"goes to {log_file}" if log_file else f"is off (set {LOG_ENV}=FILE to keep it)")
    return path
