"""Restore drills: restore into scratch, hash both sides on the host, compare on the runner.

The source is hashed *while* the restore runs (the two are independent), which is most of the
speed a drill can win.

    >>> drill = RestoreDrill(remote, job)                     # doctest: +SKIP
    >>> outcome = drill.latest()                              # doctest: +SKIP
    >>> outcome.comparison.identical, outcome.restore_seconds # doctest: +SKIP
    (True, 2.8)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from backup_drills.adapters.cron import run_now
from backup_drills.adapters.readings import BACKUPS, latest_snapshot
from backup_drills.adapters.systemd import start_service
from backup_drills.adapters.tool import (
    FindsPaths,
    Listing,
    Mirrors,
    RestoreFailed,
    Snapshot,
    capable,
    tool_class,
    tool_for,
)
from backup_drills.core.durations import human
from backup_drills.core.observe import before_acting
from backup_drills.core.transport import CommandTimedOut, DrillCouldNotRun, Remote, argv
from backup_drills.inventory.schema import Job
from backup_drills.restores.manifest import Comparison, Manifest, compare, entry_named, hash_tree
from backup_drills.restores.scratch import ensure_space, inside_source, scratch_dir

CANARY_DIR = ".drill-canary"
# the canary's shell code, its paths as positional parameters ($1 the canary folder in the
# source, $2 the canary): a folder that is a symbolic link (to /etc...) is never written through
_NO_LINK = '[ ! -L "$1" ] || { echo "$1 is a symbolic link" >&2; exit 3; }; '
_PLANT = _NO_LINK + 'mkdir -p -- "$1" && [ ! -L "$1" ] && head -c 65536 /dev/urandom > "$2"'
_UNPLANT = _NO_LINK + '[ -d "$1" ] || exit 0; rm -f -- "$1"/canary-*.bin; rmdir -- "$1" 2>/dev/null || true'
_REMOVE = _NO_LINK + 'rm -f -- "$2"; rmdir -- "$1" 2>/dev/null || true'
T = TypeVar("T")


@dataclass(frozen=True)
class RestoreOutcome:
    job: Job
    host: str
    what: str
    snapshot: Snapshot | None
    restore_seconds: float
    drill_seconds: float
    comparison: Comparison
    command: str

    def evidence(self) -> dict[str, object]:
        """Flat for a whole-tree restore; nested under ``restores[<path>]`` for a partial one."""
        measured = self._measured()
        return measured if self.what == "." else {"restores": {self.what: measured}}

    def _measured(self) -> dict[str, object]:
        c = self.comparison
        return {"what": self.what, "restore_seconds": round(self.restore_seconds, 3),
                "drill_seconds": round(self.drill_seconds, 3),
                "restored_snapshot_id": self.snapshot.short_id if self.snapshot else None,
                "restored_snapshot_time": self.snapshot.time.isoformat() if self.snapshot else None,
                "entries_compared": c.compared, "bytes_verified": c.compared_bytes,
                "differing": len(c.differing), "missing": len(c.missing),
                "changed_after_backup": len(c.changed_after), "command": self.command,
                "rto_seconds": self.job.rto.total_seconds() if self.job.rto else None,
                "throughput_mib_s": round(c.compared_bytes / 2**20 / self.restore_seconds, 2)
                if self.restore_seconds else None,
                "sources": {"restore_seconds": self.source()}}

    def source(self) -> str:
        """What was restored: ``snapshot 93bb9d28 (2026-11-29T05:00:00+00:00)``, or the mirror."""
        return (f"{tool_class(self.job).noun} {self.snapshot.short_id} ({self.snapshot.time.isoformat()})"
                if self.snapshot else f"mirror {self.job.destination}")


def backup_now(remote: Remote, job: Job) -> None:
    """Run the job's own backup now, as its scheduler would: its systemd service, or its cron
    line, within the job's ``backup_timeout`` (then the service is stopped and the drill could
    not run). A failed run is a verdict on the backup (``RestoreFailed``)."""
    who = f"host {remote.name}, job {job.name}"
    before_acting(remote, job)
    limit = job.backup_timeout.total_seconds()
    try:
        if job.schedule is not None:
            service = start_service(remote, job.schedule.service, limit)
            if not service.succeeded:
                raise RestoreFailed(f"{who}: on-demand backup {service.unit} failed (result "
                                    f"{service.result}, exit {service.exit_status})")
        elif job.cron is not None:
            result = run_now(remote, job.cron, limit)
            if not result.ok:
                raise RestoreFailed(f"{who}: on-demand backup `{job.cron.command}` (from "
                                    f"{job.cron.file}) exited {result.exit_status}: {result.tail(3)}")
        else:
            raise DrillCouldNotRun(f"job {job.name} declares no service or cron entry to run on "
                                   "demand")
    except CommandTimedOut:
        if job.schedule is not None:
            remote.run(argv("systemctl", "stop", "--", job.schedule.service), timeout=120)
        raise DrillCouldNotRun(f"{who}: the on-demand backup did not finish within its "
                               f"backup_timeout ({human(job.backup_timeout)}); stopped") from None


def sweep_canaries(remote: Remote, jobs: list[Job]) -> None:
    """Remove what a killed run's canaries left in the sources of these jobs (any job with a
    source): only the drill's own ``.drill-canary/canary-*.bin`` and then its folder, if empty.

        >>> sweep_canaries(remote, [job])   # doctest: +SKIP
    """
    for job in jobs:
        if job.source:
            remote.run(argv("sh", "-c", _UNPLANT, "canary-sweep", f"{job.source}/{CANARY_DIR}"))


def _attempted(restore: Callable[[], T]) -> T | RestoreFailed:
    """What ``restore`` returns, or the ``RestoreFailed`` it raises (to be judged beside what
    the source holds)."""
    try:
        return restore()
    except RestoreFailed as failed:
        return failed


class RestoreDrill:
    def __init__(self, remote: Remote, job: Job) -> None:
        self.remote, self.job = remote, job

    @staticmethod
    def _in_parallel(restore: Callable[[], T], source: Callable[[], Manifest]) -> tuple[T, Manifest]:
        """Run the restore and the hashing of the source side by side."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            restored, hashed = pool.submit(restore), pool.submit(source)
            return restored.result(), hashed.result()

    def latest(self, subpath: str = ".", as_found: bool = True) -> RestoreOutcome:
        """Restore the latest snapshot or archive (or one path of it) into scratch, with the
        job's tool, and compare it with the source, leaving out what the tool's excludes leave
        out: the latest as the drill found it, or (``as_found=False``, after an on-demand
        backup) the newest. A whole restore first checks scratch has room."""
        tool = tool_for(self.remote, self.job)
        if as_found:
            newest = latest_snapshot(self.remote, self.job)
        else:
            newest = next(reversed(tool.snapshots()), None)
        snapshot = self._present(newest, tool.noun)
        source = str(self.job.source)
        subpath = inside_source(self.job, subpath, self.remote.name)
        includes = () if subpath == "." else (f"{source}/{subpath}",)
        expected = None if includes else tool.restore_stats(snapshot)[0]
        if expected is not None:
            ensure_space(self.remote, self.job, expected)
        with scratch_dir(self.remote, self.job) as target:
            result, source_manifest = self._in_parallel(
                lambda: tool.restore(snapshot, target, includes, expected=expected),
                lambda: hash_tree(self.remote, source, [subpath]))
            restored = hash_tree(self.remote, f"{result.target}{source}", [subpath], missing_ok=True)

        def kind(relative: str) -> str | None:
            entry = source_manifest.entries.get(relative) or restored.entries.get(relative)
            return entry.kind if entry else None
        comparison = compare(source_manifest, restored, snapshot.time, self.job.name,
                             tool.left_out(kind))
        return RestoreOutcome(self.job, self.remote.name, subpath, snapshot, result.seconds,
                              result.seconds + restored.seconds, comparison, result.command)

    def restic_oldest(self, subpath: str) -> RestoreOutcome:
        """Restore one path (the sample directory) of the oldest snapshot the repository keeps,
        by its ID, with restic's read-back verification; then every file ``restic ls`` lists at
        any depth below it must be there with its size. The source is not the reference: it
        has moved on since that snapshot. A path the snapshot lacks is NOT COMPLIANT; one that
        holds no file leaves nothing to compare: COULD NOT RUN (``_nothing_listed``)."""
        tool = tool_for(self.remote, self.job)
        finder: FindsPaths = capable(tool, FindsPaths, "cannot list one path of a snapshot")
        snapshots = BACKUPS(self.remote, self.job)
        snapshot, source = self._present(snapshots[0] if snapshots else None), str(self.job.source)
        subpath = inside_source(self.job, subpath, self.remote.name)
        inside = f"{source}/{subpath}"
        listing = finder.listing(snapshot, inside)
        if not listing.files:
            raise self._nothing_listed(snapshot, inside, listing)
        listed = listing.files
        with scratch_dir(self.remote, self.job) as target:
            result = tool.restore(snapshot, target, (inside,), verify=True)
            restored = hash_tree(self.remote, f"{result.target}{source}", [subpath], missing_ok=True)
        comparison = Comparison(self.remote.name, self.job.name, f"snapshot {snapshot.short_id}",
                                f"{result.target}{source}")
        for path, size in sorted(listed.items()):
            got = entry_named(restored.entries, path.removeprefix(f"{source}/"))
            if got is None:
                comparison.missing.append(path)
            elif got.size != size:
                comparison.differing.append(path)
            else:
                comparison.compared += 1
                comparison.compared_bytes += size
        return RestoreOutcome(self.job, self.remote.name, subpath, snapshot, result.seconds,
                              result.seconds + restored.seconds, comparison, result.command)

    def _nothing_listed(self, snapshot: Snapshot, inside: str, listing: Listing) -> Exception:
        """The verdict when the oldest snapshot lists no file at ``inside``: it lacks the path
        (NOT COMPLIANT: that snapshot cannot give it back), or the path holds only folders,
        links or nothing (COULD NOT RUN: a restore of no file proves nothing either way)."""
        who, which = f"host {self.remote.name}, job {self.job.name}", \
            f"snapshot {snapshot.short_id} ({snapshot.time.isoformat()})"
        if not listing.others:
            return RestoreFailed(f"{who}: the oldest kept {which} does not hold the sample "
                                 f"directory {inside}: it cannot be restored from it")
        return DrillCouldNotRun(f"{who}: the sample directory {inside} holds no file in {which} "
                                f"({listing.folders} folder(s), {len(listing.others)} entries in "
                                "all): nothing to restore and compare; samples.directory should "
                                "name a folder that holds files")

    def _present(self, snapshot: Snapshot | None, noun: str = "snapshot") -> Snapshot:
        """The snapshot, or the verdict that the repository holds none of the job's source."""
        if snapshot is None:
            raise RestoreFailed(f"host {self.remote.name}, job {self.job.name}: no {noun} of "
                                f"{self.job.source} in {self.job.repository}")
        return snapshot

    def canary(self) -> RestoreOutcome:
        """Plant a canary, run the job's own backup service, restore the canary, compare."""
        before_acting(self.remote, self.job)
        name = f"{CANARY_DIR}/canary-{secrets.token_hex(8)}.bin"
        path = f"{self.job.source}/{name}"
        folder = f"{self.job.source}/{CANARY_DIR}"
        self.remote.run(argv("sh", "-c", _PLANT, "canary", folder, path), check=True)
        try:
            backup_now(self.remote, self.job)
            return self.latest(name, as_found=False)
        finally:
            self.remote.run(argv("sh", "-c", _REMOVE, "canary-remove", folder, path))

    def mirror_full(self, since: datetime) -> RestoreOutcome:
        """The runbook's full disaster recovery, into scratch as the alternate root: the whole
        mirror copied back (after checking scratch has room) and compared with the source."""
        mirror: Mirrors = capable(tool_for(self.remote, self.job), Mirrors, "keeps no mirror")
        expected = mirror.size()
        ensure_space(self.remote, self.job, expected)
        return self.mirror_sample(".", False, since, expected)

    def mirror_sample(self, relative: str, is_file: bool, since: datetime,
                      expected: int | None = None) -> RestoreOutcome:
        """Copy one file or directory (``.``: the whole mirror, ``expected`` bytes) back from
        the mirror into scratch and compare (``rclone copy`` of a directory: its whole
        subtree). A directory whose source holds no file the mirror keeps leaves nothing to
        compare: COULD NOT RUN."""
        tool = tool_for(self.remote, self.job)
        mirror: Mirrors = capable(tool, Mirrors, "keeps no mirror")
        source = str(self.job.source)
        rel = inside_source(self.job, relative, self.remote.name)
        left_out = tool.left_out(lambda relative: None)
        with scratch_dir(self.remote, self.job) as target:
            copied, source_manifest = self._in_parallel(
                lambda: _attempted(lambda: mirror.copy(rel, f"{target}/{rel}", is_file, expected)),
                lambda: hash_tree(self.remote, source, [rel]))
            if not is_file and not any(entry.kind == "f" and not left_out(path)
                                       for path, entry in source_manifest.entries.items()):
                what, hint = (source, "") if rel == "." else \
                    (f"the sample directory {source}/{rel}",
                     "; samples.directory should name a folder that holds files")
                raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: {what} holds "
                                       "no file the mirror keeps (rclone keeps no empty folders): "
                                       f"nothing to copy back and compare{hint}")
            if isinstance(copied, RestoreFailed):
                raise copied
            result = copied
            restored = hash_tree(self.remote, target, [rel], missing_ok=True)
        comparison = compare(source_manifest, restored, since, self.job.name, left_out, kinds="f")
        return RestoreOutcome(self.job, self.remote.name, rel, None, result.seconds,
                              result.seconds + restored.seconds, comparison, result.command)
