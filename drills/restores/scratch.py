"""Scratch: the only place a drill ever restores into.

A scratch directory carries an owner label and a timestamp in its name
(``drill-<runner>-<pid>-<epoch>-<random>``), is refused when it overlaps anything the job
protects (paths resolved on the host, symlinks included, before anything is written), is
removed on every path, and leftovers of a killed run are swept at the next start.

    >>> with scratch_dir(remote, job) as target:    # doctest: +SKIP
    ...     restic.restore(snapshot, target)
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

from backup_drills.core.transport import DrillCouldNotRun, Remote, argv, script
from backup_drills.inventory.schema import Job

LOG = logging.getLogger(__name__)
RUNNER = socket.gethostname().split(".")[0].replace("-", "_") or "runner"
PREFIX = "drill-"
MAX_AGE = 24 * 3600
HOME = "-home"  # the throwaway user's home beside a run folder (scratch-hand-over.sh)
CREDENTIALS_ROOT = "/run"  # where unit-credentials.sh makes a command's credentials folder
RESOLVE_LIMIT = 60  # seconds for the one command that resolves every protected path


MARGIN = 64 << 20

# what a drill's shell code needs, as positional parameters: never a value in the code itself
_FREE = ('p=$1; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done; '
         'df -P -B1 -- "$p" | awk \'NR==2 {print $4}\'')


class ScratchRefused(DrillCouldNotRun, ValueError):
    """The scratch target overlaps something the drill must never touch, or a sample leaves the
    job's source: the drill could not run (for a value of the inventory)."""


@dataclass(frozen=True)
class Protected:
    """One path the drill of a job must never write into, and what it is to the job."""

    what: str  # "source", "repository", "sample file"...
    path: str  # as the inventory declares it


def overlaps(a: str, b: str) -> bool:
    """True when one path is the other or lies inside it (of normalized, resolved paths).

    >>> overlaps("/flux", "/flux/x"), overlaps("/flux2", "/flux")
    (True, False)
    """
    pa, pb = PurePosixPath(a), PurePosixPath(b)
    return pa == pb or pb in pa.parents or pa in pb.parents


def inside_source(job: Job, relative: str, host: str) -> str:
    """``relative`` (a sample, a canary) as a path below the job's source, without its slashes
    at either end; refused when it is absolute or has a ``..`` part (it would leave the source,
    and its restore would leave scratch).

    >>> inside_source(type("J", (), {"name": "j", "source": "/s"})(), "a/../../etc", "h")
    Traceback (most recent call last):
    backup_drills.restores.scratch.ScratchRefused: host h, job j: refusing the path 'a/../../etc' below ...
    """
    parts = PurePosixPath(relative).parts
    if relative.startswith("/") or ".." in parts or "\0" in relative:
        raise ScratchRefused(f"host {host}, job {job.name}: refusing the path {relative!r} below "
                             f"the source {job.source}: expected a relative path without '..'")
    return relative.strip("/") or "."


def _local(location: str | None) -> str | None:
    """A repository or mirror that is a path on the host (``/srv/repo``, restic's
    ``local:/srv/repo``), else None (``s3:...``, ``ssh://...``, ``remote:path``)."""
    if location is None:
        return None
    path = location.removeprefix("local:")
    return path if path.startswith("/") else None


def protected_paths(job: Job) -> list[Protected]:
    """What a drill of ``job`` must never write into: its source and samples, any local
    repository or mirror, its dump, markers and results, and a tarball job's archives, tiers,
    component sources and keys."""
    found = [Protected("source", job.source)] if job.source else []
    found += [Protected(what, path) for what, path in
              (("repository", _local(job.repository)), ("mirror", _local(job.destination)))
              if path]
    if job.samples is not None and job.source:
        found += [Protected("sample file", f"{job.source}/{job.samples.file}"),
                  Protected("sample directory", f"{job.source}/{job.samples.directory}")]
    if job.dump is not None:
        found += [Protected(what, path) for what, path in
                  (("dump", job.dump.path), ("dump manifest", job.dump.manifest)) if path]
    if job.marker is not None:
        found += [Protected("marker", job.marker.path)]
        found += [Protected("failure marker", job.marker.failure_path)] if job.marker.failure_path else []
    found += [Protected("results", job.results)] if job.results else []
    if job.archives is not None:
        archives = job.archives
        found += [Protected("archive root", archives.root),
                  *(Protected("archive tier", t.path) for t in archives.tiers),
                  *(Protected(f"component {name}'s source", c.source)
                    for name, c in archives.components.items())]
        found += [Protected("gnupghome", archives.gnupghome)] if archives.gnupghome else []
    return found


def resolve(remote: Remote, paths: Sequence[str]) -> list[str]:
    """Each path as the host resolves it (``realpath -m``: symlinks followed, ``..`` and ``//``
    folded, missing parts allowed), in one bounded command with the paths as its arguments."""
    result = remote.run(argv("realpath", "-m", "-z", "--", *paths), timeout=RESOLVE_LIMIT)
    resolved = [p.decode("utf-8", errors="surrogateescape") for p in result.stdout.split(b"\0")[:-1]]
    if not result.ok or len(resolved) != len(paths):
        raise DrillCouldNotRun(f"host {remote.name}: cannot resolve the paths scratch must not "
                               f"overlap (realpath -m exited {result.exit_status}): {result.tail(3)}")
    return resolved


def _within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies below it."""
    return PurePosixPath(folder) in (PurePosixPath(path), *PurePosixPath(path).parents)


def _shown(path: str, real: str) -> str:
    return path if path == real else f"{path} (resolved: {real})"


def refuse_overlap(remote: Remote, job: Job, target: str) -> None:
    """Refuse (COULD NOT RUN), before anything is written, a scratch ``target`` whose real path
    is, contains or lies inside anything ``job`` protects, and a sample that leaves the source,
    all resolved on the host; the message names the host, the job and both paths."""
    who = f"host {remote.name}, job {job.name}"
    if job.samples is not None:
        for sample in (job.samples.file, job.samples.directory):
            inside_source(job, sample, remote.name)
    protected = protected_paths(job)
    real_target, *reals = resolve(remote, [target, *(p.path for p in protected)])
    real_source = reals[0] if job.source else None
    for item, real in zip(protected, reals, strict=True):
        if item.what.startswith("sample") and real_source is not None and \
                not _within(real, real_source):
            raise ScratchRefused(f"{who}: refusing the {item.what} {_shown(item.path, real)}: it "
                                 f"leaves the source {_shown(str(job.source), real_source)}")
        if overlaps(real_target, real):
            raise ScratchRefused(f"{who}: refusing scratch {_shown(target, real_target)}: it "
                                 f"overlaps the {item.what} {_shown(item.path, real)}, which the "
                                 "drill protects")


def make_run_folder(remote: Remote, job: Job, name: str) -> str:
    """Check the scratch root on the host as the privileged user and make the run folder
    ``name`` in it, in one command (``drills/scripts/scratch-root.sh``): the root is made 0700
    when missing, and must be a real folder of the uid the drill's privileged commands run as
    (root under sudo), not writable by group or others, below folders of root or that uid that
    others cannot write (unless sticky, like /var/tmp). Anything else is COULD NOT RUN, naming
    the path, its owner and mode: a local user who made the root first could plant symlinks
    where the drill writes as root. On a ``sudo: exact`` host no folder above the root may be
    writable by others, sticky or not (``root_check``).

    >>> make_run_folder(remote, job, "drill-r-1-2-ab")     # doctest: +SKIP
    '/var/tmp/backup-drill/drill-r-1-2-ab'
    """
    root = remote.host.scratch
    made = remote.run(script("scratch-root", *root_check(remote, name)), timeout=RESOLVE_LIMIT)
    if not made.ok:
        said = made.tail(3) or f"exit {made.exit_status}"
        raise ScratchRefused(f"host {remote.name}, job {job.name}: refusing the scratch root {root}: "
                             f"{said}")
    return f"{root}/{name}"


def root_check(remote: Remote, run: str = "-") -> tuple[str, ...]:
    """The ``scratch-root`` helper's words for the host's root and one run folder ``run`` to
    make (``-``: check only): with ``exact`` on a ``sudo: exact`` host, where sudoers lets the
    drilling user restore into the root as root at any time, so the root's name must be one
    only root can make (no folder above it writable by others, sticky or not: not /var/tmp).

    >>> root_check(exact_remote)                   # doctest: +SKIP
    ('/var/lib/backup-drills/scratch', '-', 'exact')
    """
    mode = ("exact",) if remote.host.sudo == "exact" else ()
    return (remote.host.scratch, run, *mode)


@contextmanager
def scratch_dir(remote: Remote, job: Job) -> Iterator[str]:
    """Make a labelled scratch directory on the host, once its real path overlaps nothing the
    job protects and the scratch root is the drill's own (``make_run_folder``); remove it
    whatever happens."""
    name = f"{PREFIX}{RUNNER}-{os.getpid()}-{int(time.time())}-{secrets.token_hex(3)}"
    path = f"{remote.host.scratch}/{name}"
    refuse_overlap(remote, job, path)
    make_run_folder(remote, job, name)
    try:
        yield path
    finally:
        remote.run(argv("rm", "-rf", "--one-file-system", "--", path, home_of(path)), timeout=600)


def home_of(run: str) -> str:
    """The throwaway user's home for a run folder: beside it, never inside it, so the run folder
    (where restic and borg restore setuid files as recorded) is never opened to anyone.

    >>> home_of("/var/lib/backup-drills/scratch/drill-r-1-2-ab")
    '/var/lib/backup-drills/scratch/drill-r-1-2-ab-home'
    """
    return f"{run}{HOME}"


def _leftover(name: str, now: float) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return False
    parts = name.removeprefix(PREFIX).removesuffix(HOME).split("-")
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
    any process still writing there, and the credentials folders killed runs left
    (``sweep_credentials``); return the scratch removed. A root that fails the check of
    ``make_run_folder`` (another user's, a symlink, writable by others) is not listed nor swept,
    only named in a warning: its names are not the drill's, and the sweep runs as root."""
    root = remote.host.scratch
    checked = remote.run(script("scratch-root", *root_check(remote)), timeout=RESOLVE_LIMIT)
    if not checked.ok:
        LOG.warning("host %s: not sweeping the scratch root %s: %s", remote.name, root,
                    checked.tail(3) or f"its check exited {checked.exit_status}")
        sweep_credentials(remote)
        return []
    listing = remote.run(argv("find", root, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\0"))
    now = time.time()
    names = (name.decode("utf-8", errors="surrogateescape") for name in listing.stdout.split(b"\0"))
    stale = [f"{root}/{name}" for name in names if _leftover(name, now)]
    for path in stale:
        parent, name = path.rsplit("/", 1)
        remote.run(script("sweep", parent, name[0], name[1:]), timeout=600)
    sweep_credentials(remote)
    return stale


def sweep_credentials(remote: Remote, where: str = CREDENTIALS_ROOT) -> list[str]:
    """Remove the systemd credentials folders (``drills/scripts/unit-credentials.sh``) a killed
    drill left in ``where``, by the rule of scratch leftovers: its helper's PID no longer runs
    on the host, or it is older than MAX_AGE. A ``sudo: exact`` host is never given that
    helper, so it has none to sweep."""
    if remote.host.sudo == "exact":
        return []
    swept = remote.run(script("sweep-credentials", where, str(MAX_AGE)), timeout=60)
    return [path.decode("utf-8", errors="surrogateescape") for path in swept.stdout.split(b"\0")[:-1]]


def free_bytes(remote: Remote, path: str) -> int:
    """Bytes available to the drill on the filesystem that holds ``path`` (or its parent)."""
    result = remote.run(argv("sh", "-c", _FREE, "free-bytes", path), check=True)
    return int(result.text.strip())


def room_for(remote: Remote, path: str) -> int:
    """The bytes a restore may still write at ``path`` and keep ``ensure_space``'s margin (10 %
    and 64 MiB) free: what an unpack is cut at.

    >>> room_for(remote, "/var/lib/backup-drills/scratch")  # doctest: +SKIP
    1073741824
    """
    return max(0, int((free_bytes(remote, path) - MARGIN) / 1.1))


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
