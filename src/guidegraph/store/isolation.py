"""Confine the process that evaluates untrusted queries: no network, bounded memory, and no
life beyond its parent.

* **Network.** The process moves into a network namespace of its own (Linux, inside an
  unprivileged user namespace), which holds only a loopback interface that is down: no
  address, not even 127.0.0.1, is reachable, whatever a query asks the engine to fetch. This
  is the second barrier behind the parse-based refusal of SERVICE, LOAD and FROM
  (:func:`guidegraph.store.sparql.refuse_unsafe`). Where the kernel or a container policy does
  not allow user namespaces, the process keeps the network and :class:`Isolation` says why;
  the refusal is then the only barrier (docs/security.md).
* **Memory.** ``RLIMIT_DATA`` caps the heap and anonymous mappings, so a runaway sort fails
  an allocation in the worker (which then exits and is restarted) instead of exhausting the
  machine.
* **Parent.** A watcher thread exits the process when its parent is gone, so a server killed
  with ``kill -9`` does not leave a worker behind that holds the store's lock.

``os.unshare`` arrives only in Python 3.12; on 3.11 the same libc call is made with ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys
import threading
import time
from dataclasses import dataclass

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class Isolation:
    """What confines this process (reported by the server's /health)."""

    network: str  # "none" (own empty network namespace) or "host: <why not isolated>"
    memory_limit: int | None  # bytes, or None for no limit

    def to_json(self) -> dict[str, object]:
        return {"network": self.network,
                "memory_limit_mb": (self.memory_limit // 2**20 if self.memory_limit else None)}


def _unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(flags)  # type: ignore[attr-defined]
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(ctypes.c_int(flags)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write(text)


def leave_network() -> str:
    """Enter a new user and network namespace; "none" on success, else "host: why".

    The user namespace maps this process's own uid and gid onto themselves, so files it
    creates (the store) keep their owner. Must run before the process starts threads."""
    if not sys.platform.startswith("linux"):
        return f"host: network namespaces need Linux (this is {sys.platform})"
    uid, gid = os.getuid(), os.getgid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    except OSError as exc:
        hint = " (the process already runs threads)" if exc.errno == errno.EINVAL else ""
        return f"host: cannot create a network namespace: {exc.strerror}{hint}"
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as exc:
        # The namespace exists (no network) but files could not be created in it.
        raise OSError(exc.errno, f"cannot map the user into its namespace: {exc.strerror}"
                      ) from None
    return "none"


def cap_memory(limit: int | None) -> int | None:
    """Cap the heap and anonymous mappings at ``limit`` bytes (None: leave as it is)."""
    if not limit:
        return None
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def exit_with_parent(interval: float = 0.5) -> None:
    """Exit this process (at once, like a kill) as soon as its parent is gone.

    Polling the parent id is used rather than ``PR_SET_PDEATHSIG``, which fires when the
    parent *thread* that started the process ends (a server's request thread)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # writes are transactions: nothing is left half-written

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def isolate(memory_limit: int | None) -> Isolation:
    """Confine the calling process (a fresh worker, before it starts any thread)."""
    network = leave_network()
    limit = cap_memory(memory_limit)
    exit_with_parent()
    return Isolation(network, limit)
