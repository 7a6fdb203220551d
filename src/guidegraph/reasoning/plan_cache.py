"""A reasoner's compiled plan, kept on disk by the identity of its knowledge and of the code.

Compiling a large guideline (parsing its files, the plan's SPARQL reads, building criteria,
recommendation specs and arrays) costs seconds; the result depends only on the knowledge's
content hashes, the guideline files' places (provenance names them), and the code and queries
that compile it. So the plan is pickled once under a key over all of those, and a later start
with the same key reads it instead: nothing about the knowledge is parsed until something
asks for its graphs (see ``knowledge.loading.DeferredKnowledge``).

Pickle is a code format: reading one runs what it says. The cache is trusted like Python's
own ``__pycache__``: it lives in the user's cache folder (``$GUIDEGRAPH_CACHE_DIR``, else
``$XDG_CACHE_HOME/guidegraph/plans``, else ``~/.cache/guidegraph/plans``), created private
(0700, files 0600), and an entry is read only when it and its folder belong to the user and
nobody else may write them, and when its header repeats the key and the SHA-256 of what
follows (a torn or edited entry is a miss, compiled again and rewritten). A compiled plan
holds data only: criteria rebuild their tests from their fields when unpickled.
``GUIDEGRAPH_CACHE_DIR`` set to an empty value turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import stat
import tempfile
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

import guidegraph
from guidegraph import resources
from guidegraph.gcpause import collector_paused

ENV_VAR = "GUIDEGRAPH_CACHE_DIR"
_MAGIC = b"guidegraph-plan 1\n"
_SUFFIX = ".plan"
#: Entries kept; the oldest are removed after a write (each entry is one knowledge version).
KEEP = 16


def cache_dir() -> Path | None:
    """Where plans are kept; None when the cache is off (``GUIDEGRAPH_CACHE_DIR=``)."""
    override = os.environ.get(ENV_VAR)
    if override is not None:
        return Path(override).expanduser() if override.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guidegraph" / "plans"


def _code_files() -> Iterable[tuple[str, Path]]:
    """Each source and query file, by its path inside the package or the queries folder."""
    for root, pattern in ((Path(guidegraph.__file__).resolve().parent, "*.py"),
                          (resources.queries_dir(), "*.rq")):
        for path in sorted(root.rglob(pattern)):
            yield path.relative_to(root).as_posix(), path


def plan_key(identity: Iterable[str]) -> str:
    """The key of a plan: the knowledge's identity (content hashes, file places, engine)
    with everything that shapes what the compiler makes of it: the code and queries that
    compile it, and the versions of Python and of the libraries the plan holds objects of."""
    digest = hashlib.sha256()

    def add(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    for part in identity:
        add(part.encode())
    add(platform.python_version().encode())
    for lib in ("numpy", "pyoxigraph"):
        add(metadata.version(lib).encode())
    for name, path in _code_files():
        add(name.encode())
        add(path.read_bytes())
    return digest.hexdigest()


def _private(path: Path) -> bool:
    """Owned by the user and writable by nobody else (what makes reading it safe); never
    where the system has no notion of a file's owning user."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return False
    info = path.stat()
    return info.st_uid == getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read(key: str) -> Any | None:
    """The plan kept under ``key``, or None (no cache, no entry, not private, not intact)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}{_SUFFIX}"
    head = _MAGIC + key.encode() + b"\n"
    try:
        if not (_private(folder) and _private(path)):
            return None
        with path.open("rb") as entry:  # one open file: what is hashed is what is read
            if entry.read(len(head)) != head:
                return None
            digest = entry.readline().rstrip(b"\n")
            start = entry.tell()
            if hashlib.file_digest(entry, "sha256").hexdigest().encode() != digest:
                return None
            entry.seek(start)
            plan = _unpickle(entry)
        if plan is not None:
            os.utime(path)  # a plan in use is the last one pruned
        return plan
    except OSError:
        return None


def _unpickle(entry: BinaryIO) -> Any | None:
    """The plan in an intact, private entry (see the module docstring), read from the file
    rather than from a copy of it in memory; None when the current code cannot read it."""
    try:
        with collector_paused():  # unpickling makes ~10^5 objects that all live on
            return pickle.load(entry)
    except Exception:  # an entry the current code cannot read is only a miss
        return None


def write(key: str, plan: Any) -> bool:
    """Keep ``plan`` under ``key`` (atomically: a reader sees the old entry or the new one);
    False when the cache is off or cannot be written, which only costs the next start."""
    folder = cache_dir()
    if folder is None:
        return False
    try:
        payload = pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, RecursionError):
        return False
    data = (_MAGIC + key.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode()
            + b"\n" + payload)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return False
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, folder / f"{key}{_SUFFIX}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return False
    return True


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP` entries used last; drop what a writer that died left behind."""
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # removed meanwhile by another process
            return 0.0

    entries = sorted(folder.glob(f"*{_SUFFIX}"), key=used, reverse=True)
    stale = [p for p in folder.glob("*.tmp") if used(p) < time.time() - 3600]
    for old in [*entries[KEEP:], *stale]:
        old.unlink(missing_ok=True)
