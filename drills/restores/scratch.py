"""Scratch: the only place a drill ever restores into.

A scratch directory carries an owner label and a timestamp in its name
(``drill-<runner>-<pid>-<epoch>-<random>``), is refused when it overlaps anything the job
protects, is removed on every path, and leftovers of a killed run are swept at the next start.

    >>> with scratch_dir(remote, protected=["/flux"]) as target:    # doctest: +SKIP
    ...     restic.restore(snapshot, target)
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from drills.core.transport import DrillCouldNotRun, Remote, script
from drills.inventory.schema import Job

RUNNER = socket.gethostname().split(".")[0].replace("-", "_") or "runner"
PREFIX = "drill-"
MAX_AGE = 24 * 3600


MARGIN = 64 << 20


class ScratchRefused(ValueError):
    """The scratch target overlaps something the drill must never touch."""


def overlaps(a: str, b: str) -> bool:
    """True when one path is the other or lies inside it."""
    pa, pb = PurePosixPath(a), PurePosixPath(b)
    return pa == pb or pb in pa.parents or pa in pb.parents


def protected_paths(job: Job) -> list[str]:
    """What a drill of ``job`` must never write into: its source, any local repository, and a
    tarball job's archives, tiers and component sources."""
    paths = [job.source] if job.source else []
    paths += [p for p in (job.repository, job.destination) if p and p.startswith("/")]
    if job.archives is not None:
        paths += [job.archives.root, *(t.path for t in job.archives.tiers),
                  *(c.source for c in job.archives.components.values())]
    return paths


def refuse_overlap(target: str, protected: Iterable[str], host: str, job: str) -> None:
    for path in protected:
        if overlaps(target, path):
            raise ScratchRefused(f"host {host}, job {job}: refusing scratch {target}: it overlaps "
                                 f"{path}, which the drill protects")


@contextmanager
def scratch_dir(remote: Remote, job: Job) -> Iterator[str]:
    """Make a labelled scratch directory on the host; remove it whatever happens."""
    root = remote.host.scratch
    path = f"{root}/{PREFIX}{RUNNER}-{os.getpid()}-{int(time.time())}-{secrets.token_hex(3)}"
    refuse_overlap(path, protected_paths(job), remote.name, job.name)
    remote.run(f"mkdir -p -m 0700 {shlex.quote(path)}", check=True)
    try:
        yield path
    finally:
        remote.run(f"rm -rf --one-file-system {shlex.quote(path)}", timeout=600)


def _leftover(name: str, now: float) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return False
    parts = name.removeprefix(PREFIX).split("-")
    if not name.startswith(PREFIX) or len(parts) != 4 or not parts[1].isdigit() \
            or not parts[2].isdigit():
        return False
    runner, pid, epoch = parts[0], int(parts[1]), int(parts[2])
    if now - epoch > MAX_AGE:
        return True
    if runner != RUNNER or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep(remote: Remote) -> list[str]:
    """Remove scratch left by killed runs of this runner, or older than a day, after stopping
    any process still writing there; return what was removed."""
    root = remote.host.scratch
    listing = remote.run(f"ls -1 {shlex.quote(root)} 2>/dev/null || true")
    now = time.time()
    stale = [f"{root}/{name}" for name in listing.text.split() if _leftover(name, now)]
    for path in stale:
        parent, name = path.rsplit("/", 1)
        remote.run(script("sweep", parent, name[0], name[1:]), timeout=600)
    return stale


def free_bytes(remote: Remote, path: str) -> int:
    """Bytes available to the drill on the filesystem that holds ``path`` (or its parent)."""
    probe = f"p={shlex.quote(path)}; while [ ! -e \"$p\" ]; do p=$(dirname \"$p\"); done; " \
            'df -P -B1 "$p" | awk \'NR==2 {print $4}\''
    result = remote.run(probe, check=True)
    return int(result.text.strip())


def ensure_space(remote: Remote, job: Job, needed: int) -> int:
    """Refuse, before anything is written, a restore that would not fit in scratch with a margin
    (10 % and 64 MiB): a drill must never fill a production disk. Returns the free bytes."""
    free = free_bytes(remote, remote.host.scratch)
    if free < needed * 1.1 + MARGIN:
        raise DrillCouldNotRun(
            f"host {remote.name}, job {job.name}: refusing to restore {needed / 2**20:.1f} MiB "
            f"into {remote.host.scratch}: only {free / 2**20:.1f} MiB free there "
            "(needs the restore size plus 10 % and 64 MiB)")
    return free
