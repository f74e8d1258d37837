"""Verdicts on repositories, written once for every tool (``backup_drills.adapters.tool``): check,
freshness, retention, shrinking snapshots (archives); and restic's own: read coverage, locks,
sample files, vanished files.

    >>> verdict = snapshot_fresh(remote, job)         # doctest: +SKIP
    >>> verdict.message                               # doctest: +SKIP
    'host motoko, job flux-borg: newest archive motoko-2026-11-29T03:30:00 of /flux/active ...'
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime

from backup_drills.adapters.readings import BACKUPS, LOCKS, RETENTION_STAMPS, latest_snapshot
from backup_drills.adapters.tool import DiffsSnapshots, FindsPaths, ReadsSubsets, Snapshot, capable, tool_for
from backup_drills.core.clock import from_the_future
from backup_drills.core.coverage import (
    SliceRead,
    from_evidence,
    last_reads,
    missing_slices,
    rotation_of,
    slice_for,
    today,
    window,
)
from backup_drills.core.durations import human, human_seconds
from backup_drills.core.retention import disagreement
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv
from backup_drills.inventory.schema import Job
from backup_drills.verdicts.verdict import Verdict, retention_verdict, who


def check_passes(remote: Remote, job: Job, read_data: str | None = None, why: str = "") -> Verdict:
    """The job's tool's check (``restic check``, ``borg check``), reading ``read_data`` of the
    data (a subset such as ``10%`` or ``2/4``, or ``all``), named in the message with ``why``
    it reads what it reads. Damage it finds is NOT COMPLIANT, named by the tool's own lines (the
    full output, when they are not all of it, in the evidence). A tool that reads no chosen
    subset declines ``read_data`` (``NotSupported``: the scenario is skipped)."""
    tool = tool_for(remote, job)
    if read_data is None:
        result = tool.check()
    else:
        subsets: ReadsSubsets = capable(tool, ReadsSubsets, "reads no chosen subset of its data")
        result = subsets.check_subset(read_data)
    detail = "passed" if result.passed else f"{result.failed}:\n  " + "\n  ".join(result.errors[:20])
    return Verdict(result.passed, f"{who(remote, job)}: {result.what}{why} of {job.repository} {detail}",
                   {"command": result.command, "check_seconds": round(result.seconds, 3),
                    **({"output": result.output} if result.output else {})})


def restic_read_check(remote: Remote, job: Job, earlier: list[SliceRead]) -> Verdict:
    """``restic check`` reading the job's ``read_data_subset``: a percentage or a fixed ``n/t``
    as given; a rotation ``*/t`` reads this ISO week's slice, or every slice (``--read-data``)
    when no earlier drill of this rotation passed (a baseline). Records what it read."""
    slices = rotation_of(job.read_data_subset)
    if slices is None:
        checked = check_passes(remote, job, job.read_data_subset)
        read = [job.read_data_subset]
    elif earlier:
        read = [f"{slice_for(today(), slices)}/{slices}"]
        checked = check_passes(remote, job, read[0])
    else:
        checked = check_passes(remote, job, "all", why=" (every slice: no earlier drill "
                               f"of the rotation */{slices} passed)")
        read = [f"{n}/{slices}" for n in range(1, slices + 1)]
    at = datetime.now(UTC).isoformat(timespec="seconds")
    return Verdict(checked.ok, checked.message, {**checked.evidence, "read_data": [
        {"slice": part, "read_at": at, "passed": checked.ok} for part in read]})


def read_check(remote: Remote, job: Job, earlier: list[SliceRead]) -> Verdict:
    """``restic_read_check`` as the run took it, once per job: the read check scenario and the
    rotation's coverage scenario judge the same read, whichever runs first (or alone) takes it."""
    return remote.drill_run.once("read check", job.id, lambda: restic_read_check(remote, job, earlier))


def every_pack_read(job: Job, host: str, earlier: list[SliceRead], now_read: object) -> Verdict:
    """Every slice of the job's rotation was read by a passing check within the last t weeks
    (the history of earlier drills and this run's own read)."""
    slices = rotation_of(job.read_data_subset)
    if slices is None:
        return Verdict(False, f"{who(host, job)}: read_data_subset {job.read_data_subset} "
                       "reads packs at random: no history proves every pack was read; declare a "
                       "rotation such as '*/4'")
    reads = earlier + from_evidence(now_read, slices)
    now = datetime.now(UTC)
    gaps = missing_slices(reads, slices, now)
    last = last_reads(reads, slices)
    lines = [f"slice {n}/{slices}: last read {when.isoformat(timespec='seconds') if when else 'never'}"
             for n, when in last.items()]
    return Verdict(not gaps, f"{who(host, job)}: every pack of {job.repository} read within the "
                   f"last {human(window(slices))}: " + (f"slice(s) {', '.join(map(str, gaps))} "
                                                        "of the rotation not read since "
                   f"{(now - window(slices)).isoformat(timespec='seconds')}" if gaps else "yes")
                   + "".join(f"\n  {line}" for line in lines),
                   {"read_coverage_gaps": gaps})


def _from_the_future(remote: Remote, snapshots: Sequence[Snapshot], noun: str = "snapshot") -> list[str]:
    """``snapshot 93bb9d28 (...) is dated 365d ahead of motoko's clock (...)``, one per snapshot
    (archive) dated beyond the host's ``max_clock_skew``."""
    return [f"{noun} {s.short_id} ({s.time.isoformat()}) is {why}" for s in snapshots
            if (why := from_the_future(remote, s.time))]


def snapshot_fresh(remote: Remote, job: Job) -> Verdict:
    """The newest snapshot (archive), as found, is younger than the RPO, and none is dated ahead
    of the host's clock (the tool's retention would count its keep rules from it)."""
    tool = tool_for(remote, job)
    snapshots = BACKUPS(remote, job)
    rpo = job.rpo.total_seconds()
    if not snapshots:
        return Verdict(False, f"{who(remote, job)}: no {tool.noun} of {job.source} in "
                       f"{job.repository}", {"rpo_seconds": rpo})
    future = _from_the_future(remote, snapshots, tool.noun)
    latest = snapshots[-1]
    age = latest.age()
    return Verdict(age <= rpo and not future, f"{who(remote, job)}: {tool.newest} "
                   f"{latest.short_id} of {job.source} in {job.repository} is "
                   f"{human_seconds(age)} old ({latest.time.isoformat()}), RPO {human(job.rpo)}"
                   + "".join(f"\n  {line}" for line in future),
                   {"snapshot_age_seconds": round(age, 1), "rpo_seconds": rpo,
                    "sources": {"snapshot_age_seconds": f"{tool.noun} {latest.short_id} "
                                                        f"({latest.time.isoformat()}), as found"}})


def no_stale_locks(remote: Remote, job: Job) -> Verdict:
    now = datetime.now(UTC)
    stale = []
    for found in LOCKS(remote, job):
        lock, dead = found.lock, found.holder_gone
        age = (now - lock.time).total_seconds()
        if dead or age > job.stale_lock_age.total_seconds():
            why = f"process {lock.pid} on {lock.hostname} is gone" if dead else \
                f"{human_seconds(age)} old"
            stale.append(f"lock {lock.id[:8]} ({'exclusive' if lock.exclusive else 'shared'}, "
                         f"{why})")
    return Verdict(not stale, f"{who(remote, job)}: {job.repository} has "
                   f"{len(stale)} stale lock(s)" + "".join(f"\n  {s}" for s in stale),
                   {"stale_locks": len(stale)})


def retention_conforms(remote: Remote, job: Job) -> Verdict:
    """The job's snapshots (archives) against its retention policy by its tool's own rules
    (restic's ``kept``: every rule of ``restic forget``, in the snapshots' own offsets; borg's
    ``borg_kept``: prune's rules on the archives it rules on, in the host's local time): nothing
    is in the repository that the rules do not keep (allowing what the run before the newest
    kept), none is dated ahead of the host's clock, and the tool's own dry run (``restic forget
    --dry-run --json``, ``borg prune --dry-run --list``) keeps what the rules computed here
    keep, or both lists are named. A missed night is not a finding here (the daily rule
    reaches one day further back); how far each rule reaches is told."""
    tool = tool_for(remote, job)
    found = BACKUPS(remote, job) if job.retention is not None else []
    stamps = RETENTION_STAMPS(remote, job) if job.retention is not None else []
    earlier = [f"{line}: {tool.prune} counts its keep rules from it"
               for line in _from_the_future(remote, found, tool.noun)]
    if job.retention is not None and stamps:
        dry = tool.retention_dry_run(stamps, found)
        earlier += disagreement(dry.ours, dry.kept, dry.command, stamps)
    return retention_verdict(remote, job, stamps, tool.noun, tool.rules(),
                             f", by {tool.prune}'s rules", earlier=earlier)


def sample_listed(remote: Remote, job: Job) -> Verdict:
    """``restic find`` locates the job's sample file in the latest snapshot, as a file of the
    size the source file has now (runbook: "listing and finding files in a snapshot")."""
    if job.samples is None:
        raise DrillCouldNotRun(f"job {job.name} declares no samples (file, directory) to look for")
    finder: FindsPaths = capable(tool_for(remote, job), FindsPaths, "cannot look up one path in a snapshot")
    latest = latest_snapshot(remote, job)
    path = f"{job.source}/{job.samples.file}"
    if latest is None:
        return Verdict(False, f"{who(remote, job)}: no snapshot of {job.source} to look in")
    matches = [m for m in finder.find(latest, path) if m.get("path") == path]
    size = remote.run(argv("stat", "-c", "%s", "--", path))
    where = f"{who(remote, job)}: {path} in snapshot {latest.short_id}"
    if not matches:
        return Verdict(False, f"{where}: not found by `restic find`",
                       {"sample_snapshot_id": latest.short_id, "path": path})
    listed = matches[0]
    ok = listed.get("type") == "file" and (not size.ok or str(listed.get("size")) == size.text.strip())
    return Verdict(ok, f"{where}: listed as {listed.get('type')} of {listed.get('size')} bytes "
                       f"(source: {size.text.strip() if size.ok else 'gone'})",
                   {"sample_snapshot_id": latest.short_id, "path": path, "size": listed.get("size")})


def nothing_vanished(remote: Remote, job: Job) -> Verdict:
    """``restic diff`` of the two newest snapshots: every file it lists as removed is gone from
    the source too, or changed after the newest snapshot; a file still there, unchanged since
    before that snapshot and not excluded, vanished from the backup (a grown exclude, a
    permission the backup lost)."""
    tool = tool_for(remote, job)
    differ: DiffsSnapshots = capable(tool, DiffsSnapshots, "cannot list what changed between two snapshots")
    snapshots = BACKUPS(remote, job)
    if len(snapshots) < 2:
        return Verdict(True, f"{who(remote, job)}: fewer than two snapshots, nothing to compare")
    older, newer = snapshots[-2], snapshots[-1]
    removed = [path for change, path in differ.diff(older, newer)
               if change == "-" and not path.endswith("/")]
    source = str(job.source).rstrip("/")
    left_out = tool.left_out(lambda relative: None)
    candidates = [p for p in removed if p.startswith(source + "/")
                  and not left_out(p[len(source) + 1:])]
    still = _mtimes(remote, candidates)
    vanished = sorted(p for p, mtime in still.items() if mtime < newer.time.timestamp())
    return Verdict(not vanished,
                   f"{who(remote, job)}: `restic diff {older.short_id} {newer.short_id}`: "
                   f"{len(removed)} file(s) removed, {len(vanished)} of them still in the source "
                   "unchanged since before the newest snapshot"
                   + "".join(f"\n  {p}" for p in vanished[:25])
                   + (f"\n  ... and {len(vanished) - 25} more" if len(vanished) > 25 else ""),
                   {"diff": f"{older.short_id}..{newer.short_id}", "removed": len(removed),
                    "vanished": len(vanished)})


SHRINK_WINDOW = 7  # earlier snapshots whose median the newest is measured against


def snapshot_not_shrunk(remote: Remote, job: Job) -> Verdict:
    """The newest snapshot (archive) holds at least ``shrink_ratio`` of the median file count
    and size of the (up to seven) ones before it, as the tool counts what a restore writes:
    the backup of a source that was not mounted fails here even when the sample file happens
    to survive."""
    tool = tool_for(remote, job)
    snapshots = BACKUPS(remote, job)
    if len(snapshots) < 2:
        return Verdict(True, f"{who(remote, job)}: fewer than two {tool.noun}s, nothing to compare")
    newest, earlier = snapshots[-1], snapshots[-1 - SHRINK_WINDOW:-1]
    size, files = tool.restore_stats(newest)
    sizes, counts = zip(*(tool.restore_stats(s) for s in earlier), strict=True)
    median_size, median_files = statistics.median(sizes), statistics.median(counts)
    ratio = job.shrink_ratio
    problems = [f"{what}: {got:,} against a median of {median:,.0f} (less than {ratio:.0%})"
                for what, got, median in (("files", files, median_files),
                                          ("bytes", size, median_size)) if got < ratio * median]
    return Verdict(not problems,
                   f"{who(remote, job)}: newest {tool.noun} {newest.short_id} of {job.source} holds "
                   f"{files:,} files, {size:,} bytes; the {len(earlier)} before it a median of "
                   f"{median_files:,.0f} files, {median_size:,.0f} bytes"
                   + "".join(f"\n  shrunk: {p}" for p in problems),
                   {"newest_files": files, "newest_bytes": size,
                    "median_files": median_files, "median_bytes": median_size,
                    "sources": {"newest_files": f"{tool.noun} {newest.short_id}, as found"}})


def _mtimes(remote: Remote, paths: list[str]) -> dict[str, float]:
    """Modification times of those of ``paths`` that exist on the host (in batches)."""
    found: dict[str, float] = {}
    for start in range(0, len(paths), 200):
        listed = remote.run(argv("stat", "--printf", "%Y %n\\0", "--", *paths[start:start + 200]),
                            timeout=120)  # a path that is gone is left out (stat exits 1)
        for line in listed.text.split("\0"):
            mtime, _, path = line.partition(" ")
            if mtime.isdigit():
                found[path] = float(mtime)
    return found
