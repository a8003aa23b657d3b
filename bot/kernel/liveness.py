"""Who holds a claim, and whether that process still runs.

Every instance names itself `host:pid:token`. Claims that outlive a crash (outbox rows `sending`, job leases,
the broadcast sender lease) carry that name; another instance on the same host sees at once that the
process is gone (or that the pid now belongs to a later life: the token differs) and takes the claims over,
instead of waiting for the lease to run out. Claims of an instance on another host still wait for their lease.
"""
from __future__ import annotations

import os
import socket
import uuid

_MINE: set[str] = set()  # names made by this process (several apps may run in one, as in the tests)


def new_owner() -> str:
    name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:96]
    _MINE.add(name)
    return name


def retire(name: str) -> None:
    """This instance stopped (its app in this process): its leftover claims may be taken over."""
    _MINE.discard(name)


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # killed but not yet reaped by its parent
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def owner_dead(owner: str, me: str) -> bool:
    """True if `owner` is a process on this host that no longer runs (fast takeover after a crash)."""
    host, _, rest = owner.partition(":")
    pid_s, _, _token = rest.partition(":")
    if host != socket.gethostname() or not pid_s.isdigit():
        return False
    pid = int(pid_s)
    if pid == os.getpid():
        return owner != me and owner not in _MINE  # an earlier life of this pid (e.g. a restarted container)
    return process_gone(pid)
