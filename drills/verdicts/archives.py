"""Verdicts on tarball backups (MiracleMax): freshness per component, restores, encryption,
tiers, size anomalies and retention of the backup sets.

    >>> verdict = components_fresh(remote, job)            # doctest: +SKIP
    >>> verdict.message.splitlines()[1]                    # doctest: +SKIP
    '  n8n: 20261122_030000/n8n.tar.gz.gpg, 6h12m old'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backup_drills.adapters.archives import (
    ArchiveRestore,
    BackupSet,
    archives_of,
    in_clear,
    median_anomalies,
    newest_per_component,
)
from backup_drills.adapters.readings import ARCHIVE_SETS, ARCHIVE_TIERS
from backup_drills.core.clock import from_the_future
from backup_drills.core.durations import human, human_seconds
from backup_drills.core.retention import Policy, Stamp, missing
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.verdicts.verdict import Verdict, restore_evidence, who


def _listed(lines: list[str]) -> str:
    return "".join(f"\n  {line}" for line in lines)


def components_fresh(remote: Remote, job: Job) -> Verdict:
    """Each component's newest archive is no older than the RPO."""
    archives = archives_of(job)
    now, rpo = datetime.now(UTC), job.rpo.total_seconds()
    newest = newest_per_component(ARCHIVE_SETS(remote, job), list(archives.components))
    lines, ages, ok = [], {}, True
    for component, backup in newest.items():
        if backup is None:
            lines.append(f"{component}: no archive at all")
            ok = False
            continue
        age = (now - backup.time).total_seconds()
        ages[component] = age
        future = from_the_future(remote, backup.time)
        ok &= age <= rpo and future is None
        lines.append(f"{component}: {backup.name}/{backup.archive(component)}, "
                     + (future or f"{human_seconds(age)} old")
                     + ("" if age <= rpo or future else " (older than the RPO)"))
    oldest = max(ages.values(), default=None)
    return Verdict(ok, f"{who(remote, job)}: newest archive per component under {archives.root}, "
                   f"RPO {human(job.rpo)}:" + _listed(lines),
                   {"snapshot_age_seconds": oldest, "rpo_seconds": rpo, "archive_ages": ages,
                    "sources": {"snapshot_age_seconds": f"the oldest of the newest archives per "
                                                        f"component under {archives.root}"}})


def archives_restore_identical(restored: ArchiveRestore) -> Verdict:
    ok = all(r.comparison.identical and r.comparison.compared for r in restored.restores)
    lines = [f"{r.component}: {r.archive}" + (" (decrypted with the recovery key)" if r.encrypted
                                             else "") + "\n    " + r.comparison.describe()
             .replace("\n", "\n    ") for r in restored.restores]
    return Verdict(ok, f"{who(restored.host, restored.job)}: {restored.what} unpacked into scratch:"
                   + _listed(lines), restore_evidence(restored))


def never_in_clear(remote: Remote, job: Job) -> Verdict:
    archives = archives_of(job)
    required = sorted(c for c, spec in archives.components.items() if spec.encrypt == "required")
    checked, clear = in_clear(remote, job)
    where = ", ".join((archives.root, *(t.path for t in archives.tiers)))
    return Verdict(bool(checked) and not clear,
                   f"{who(remote, job)}: {checked} archive(s) of {', '.join(required) or 'no component'}"
                   f" (encryption required) under {where}; {len(clear)} not encrypted"
                   + _listed([f"{p}: stored in clear" for p in clear[:25]]),
                   {"checked": checked, "in_clear": clear})


def _window(sets: list[BackupSet], keep_days: int, where: str, now: datetime) -> list[str]:
    """A window of ``keep_days``: a set for every day of it since history began, and none older
    than the window plus one day (the job prunes once a day)."""
    stamps = [Stamp(f"{where}/{s.name}", s.time, "backup set") for s in sets]
    problems = [p.replace("the policy keeps", "the window is") for p in
                missing(stamps, Policy(daily=keep_days))] if stamps else []
    problems += [f"{stamp.label()}: {human_seconds((now - stamp.time).total_seconds())} old, "
                 f"outside the {keep_days}-day window" for stamp in stamps
                 if now - stamp.time > timedelta(days=keep_days + 1)]
    return problems


def tiers_hold_newest(remote: Remote, job: Job) -> Verdict:
    """Each tier holds the newest set with the same files and sizes, and keeps its window."""
    archives = archives_of(job)
    sets = ARCHIVE_SETS(remote, job)
    if not sets:
        return Verdict(False, f"{who(remote, job)}: no backup set under {archives.root}")
    newest, now, problems = sets[-1], datetime.now(UTC), []
    for tier in archives.tiers:
        tier_sets = ARCHIVE_TIERS(remote, job)[tier.path]
        copy = next((s for s in tier_sets if s.name == newest.name), None)
        if copy is None:
            problems.append(f"{tier.path}: no copy of the newest set {newest.name}")
        elif copy.files != newest.files:
            differing = set(copy.files.items()) ^ set(newest.files.items())
            problems.append(f"{tier.path}/{newest.name}: differs from the original in "
                            f"{', '.join(sorted({name for name, _ in differing}))}")
        problems += [p for p in _window(tier_sets, tier.keep_days, tier.path, now)
                     if "outside" in p]  # a tier's history may begin later than the root's
    tiers = ", ".join(f"{t.path} ({t.keep_days} days)" for t in archives.tiers) or "none declared"
    return Verdict(bool(archives.tiers) and not problems,
                   f"{who(remote, job)}: newest set {newest.name} in the tiers {tiers}"
                   + _listed(problems), {"newest_set": newest.name})


def size_not_anomalous(remote: Remote, job: Job) -> Verdict:
    archives = archives_of(job)
    sets = ARCHIVE_SETS(remote, job)
    problems = median_anomalies(sets, list(archives.components), archives.anomaly_ratio)
    return Verdict(not problems, f"{who(remote, job)}: newest archive sizes against the median of "
                   f"{max(len(sets) - 1, 0)} earlier sets under {archives.root}" + _listed(problems))


def sets_conform(remote: Remote, job: Job) -> Verdict:
    """The sets under the root against its window (``archives.keep_days``)."""
    archives = archives_of(job)
    sets = ARCHIVE_SETS(remote, job)
    problems = _window(sets, archives.keep_days, archives.root, datetime.now(UTC))
    if not sets:
        problems.append("no backup set at all")
    return Verdict(not problems, f"{who(remote, job)}: {len(sets)} backup sets under "
                   f"{archives.root} against its {archives.keep_days}-day window: "
                   f"{len(problems)} violation(s)" + _listed(problems),
                   {"sets": len(sets), "keep_days": archives.keep_days})
