"""The restore rotation's drill: list the latest snapshot's files with the job's tool, choose
the slice due (``backup_drills.core.restore_rotation``) and a random sample, refuse a slice over the
budget before restoring anything, restore exactly those files into scratch within the budget's
time, and compare each with the source on the host.

    >>> outcome = RotationDrill(remote, job, earlier).run()      # doctest: +SKIP
    >>> outcome.plan.slice, outcome.comparison.identical         # doctest: +SKIP
    (3, True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from backup_drills.adapters.readings import latest_snapshot
from backup_drills.adapters.tool import RestoreFailed, RestoresFiles, Snapshot, tool_for
from backup_drills.core.restore_rotation import (
    EVIDENCE_KEY,
    OverBudget,
    Plan,
    RestoreProof,
    digest,
    due_slice,
    fraction,
    plan,
)
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Job
from backup_drills.restores.manifest import Comparison, Entry, Manifest, entry_named, hash_tree
from backup_drills.restores.scratch import ensure_space, scratch_dir

LISTED_IN_EVIDENCE = 50  # paths named in the evidence beside the digest of them all
HASHED_PER_RUN = 64 * 1024  # characters of paths in one hashing command on the host


@dataclass(frozen=True)
class RotationOutcome:
    """One drill of the rotation: what it planned (or why it stopped), what it compared."""

    job: Job
    host: str
    slices: int
    due: int
    snapshot: Snapshot
    at: datetime
    plan: Plan | None = None
    comparison: Comparison | None = None
    over_budget: str = ""
    restore_seconds: float = 0.0
    command: str = ""

    @property
    def passed(self) -> bool:
        c = self.comparison
        return c is not None and c.identical and c.compared > 0 and not self.over_budget

    def evidence(self) -> dict[str, object]:
        """The slice, its files (count, bytes, digest, the first names), the sample, the
        snapshot as found, the verdict and the fraction of the tree proven by this drill."""
        entry: dict[str, object] = {
            "slice": f"{self.due}/{self.slices}", "proven_at": self.at.isoformat(timespec="seconds"),
            "passed": self.passed, "snapshot_id": self.snapshot.id,
            "snapshot": self.snapshot.short_id, "snapshot_time": self.snapshot.time.isoformat()}
        if self.over_budget:
            return {EVIDENCE_KEY: {**entry, "stopped": self.over_budget}}
        assert self.plan is not None
        assert self.comparison is not None
        p, c = self.plan, self.comparison
        entry |= {"files": len(p.files), "bytes": p.bytes, "digest": digest(p.files),
                  "paths": sorted(p.files)[:LISTED_IN_EVIDENCE],
                  "sample": {"files": len(p.sample), "bytes": p.sample_bytes,
                             "digest": digest(p.sample), "paths": sorted(p.sample)},
                  "tree": {"files": p.tree_files, "bytes": p.tree_bytes},
                  "proven_this_run": {
                      "files": fraction(len(p.files) + len(p.sample), p.tree_files),
                      "bytes": fraction(p.bytes + p.sample_bytes, p.tree_bytes)},
                  "compared": c.compared, "differing": sorted(c.differing)[:LISTED_IN_EVIDENCE],
                  "missing": sorted(c.missing)[:LISTED_IN_EVIDENCE],
                  "changed_after_backup": len(c.changed_after),
                  "restore_seconds": round(self.restore_seconds, 3), "command": self.command}
        return {EVIDENCE_KEY: entry}


def _hashed(remote: Remote, root: str, paths: list[str]) -> Manifest:
    """``paths`` under ``root`` hashed on the host (absent ones left out), in as many runs as
    keep each command line under HASHED_PER_RUN characters of paths."""
    entries: dict[str, Entry] = {}
    seconds, start = 0.0, 0
    while start < len(paths):
        end, size = start, 0
        while end < len(paths) and (end == start or size + len(paths[end]) <= HASHED_PER_RUN):
            size += len(paths[end])
            end += 1
        found = hash_tree(remote, root, paths[start:end], missing_ok=True)
        entries |= found.entries
        seconds += found.seconds
        start = end
    return Manifest(remote.name, root, entries, seconds)


class RotationDrill:
    def __init__(self, remote: Remote, job: Job, earlier: list[RestoreProof]) -> None:
        if job.restore_rotation is None or job.restore_budget is None:
            raise DrillCouldNotRun(f"job {job.name} declares no restore_coverage and restore_budget")
        self.remote, self.job, self.earlier = remote, job, earlier
        self.slices, self.budget = job.restore_rotation, job.restore_budget

    def _tool(self) -> RestoresFiles:
        tool = tool_for(self.remote, self.job)
        if not isinstance(tool, RestoresFiles):
            raise DrillCouldNotRun(f"job {self.job.name}: {tool.name} cannot list and restore "
                                   "single files: no restore rotation for it")
        return tool

    def limit(self) -> float:
        """The restore's own limit: the budget's time, else the job's rto, else an hour."""
        return (self.budget.time or self.job.rto or timedelta(hours=1)).total_seconds()

    def run(self, now: datetime | None = None) -> RotationOutcome:
        """Restore the due slice and a sample of the latest snapshot, as found; compare."""
        tool, at = self._tool(), now or datetime.now(UTC)
        snapshot = latest_snapshot(self.remote, self.job)
        if snapshot is None:
            raise RestoreFailed(f"host {self.remote.name}, job {self.job.name}: no snapshot of "
                                f"{self.job.source} in {self.job.repository}")
        due = due_slice(self.earlier, self.slices, at.date())
        base = RotationOutcome(self.job, self.remote.name, self.slices, due, snapshot, at)
        listing = tool.files(snapshot)
        try:
            chosen = plan(listing, self.slices, due, self.budget.bytes, self.budget.files,
                          self.budget.sample)
        except OverBudget as exc:
            return replace(base, over_budget=str(exc))
        ensure_space(self.remote, self.job, chosen.bytes + chosen.sample_bytes)
        source, paths = str(self.job.source), chosen.paths()
        # a name restic printed with U+FFFD (bytes not UTF-8) is hashed through its folder
        hashed = sorted({p.rpartition("/")[0] or "." if "\ufffd" in p else p for p in paths})
        with scratch_dir(self.remote, self.job) as target:
            result = tool.restore_files(snapshot, target, paths, self.limit())
            restored = _hashed(self.remote, f"{result.target}{source}", hashed)
        original = _hashed(self.remote, source, hashed)
        if not original.entries and paths:
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: none of the "
                                   f"{len(paths)} chosen files found under {source}")
        listed = {**chosen.files, **chosen.sample}
        comparison = Comparison(self.remote.name, self.job.name, source, f"{result.target}{source}")
        cutoff = snapshot.time.timestamp()
        for path in paths:
            got, want = entry_named(restored.entries, path), entry_named(original.entries, path)
            if got is None:
                comparison.missing.append(path)
            elif got.size != listed[path]:
                comparison.differing.append(path)  # not what the snapshot lists
            elif want is None or (want.sha256 != got.sha256 and want.mtime > cutoff):
                comparison.changed_after.append(path)  # gone or changed since: reported
            elif want.sha256 != got.sha256 or want.size != got.size:
                comparison.differing.append(path)
            else:
                comparison.compared += 1
                comparison.compared_bytes += got.size
        return replace(base, plan=chosen, comparison=comparison, restore_seconds=result.seconds,
                       command=result.command)
