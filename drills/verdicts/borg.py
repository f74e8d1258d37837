"""Verdicts on borg repositories (``kind: borg``): ``borg check``, the newest archive against
the RPO, retention by ``borg prune``'s own rules, computed from the archive list alone.

    >>> verdict = archive_fresh(remote, job)          # doctest: +SKIP
    >>> verdict.message                               # doctest: +SKIP
    'host motoko, job flux-borg: newest archive motoko-2026-11-29T03:30:00 of /flux/active ...'
"""

from __future__ import annotations

from datetime import UTC, datetime

from drills.adapters.borg import LOCK_WAIT, Borg
from drills.adapters.readings import ARCHIVES, ARCHIVES_LOCAL
from drills.adapters.restic import Snapshot
from drills.core.clock import from_the_future
from drills.core.durations import human, human_seconds
from drills.core.retention import Policy, Stamp, borg_kept, borg_prune_kept, disagreement, matching
from drills.core.tool_errors import COULD_NOT_RUN, ToolCouldNotRun, judge, named, said
from drills.core.transport import DrillCouldNotRun, Remote
from drills.inventory.schema import Job
from drills.verdicts.verdict import Verdict, retention_verdict, who


def borg_check(remote: Remote, job: Job, verify_data: bool = False) -> Verdict:
    """``borg check`` (repository and archives; ``--verify-data`` reads every chunk) passes.
    Damage it finds is NOT COMPLIANT, named by borg's own lines (``Segment entry checksum
    mismatch``, ``Index object count mismatch``; not its per-object lines or traceback), with
    its full output in the evidence. Only a repository borg cannot open (a lock it cannot take
    in LOCK_WAIT seconds, a wrong passphrase, no repository there) is COULD NOT RUN."""
    result = Borg(remote, job).check(verify_data)
    what = "borg check" + (" --verify-data" if verify_data else "")
    output = f"{result.stderr}\n{result.text}"
    judgement = judge(output) if not result.ok else None
    if judgement is not None and judgement.kind == COULD_NOT_RUN:
        lines = "\n  ".join(named(output).splitlines())
        raise ToolCouldNotRun(f"{who(remote, job)}: {what} of {job.repository} could not run "
                              f"(lock wait {LOCK_WAIT}s): {judgement.means}:\n  {lines}", output)
    means = f", {judgement.means}" if judgement else ""
    detail = "passed" if result.ok else f"failed (exit {result.exit_status}){means}:\n  " + \
        "\n  ".join(said(output, result.exit_status).splitlines())
    return Verdict(result.ok, f"{who(remote, job)}: {what} of {job.repository} {detail}",
                   {"command": f"{what} {job.repository}", "check_seconds": round(result.seconds, 3),
                    **({} if result.ok else {"output": output.strip()})})


def archive_fresh(remote: Remote, job: Job) -> Verdict:
    """The newest archive is younger than the RPO, and none is dated ahead of the host's clock
    (``borg prune`` would count its rules from it)."""
    archives = ARCHIVES(remote, job)
    rpo = job.rpo.total_seconds()
    if not archives:
        return Verdict(False, f"{who(remote, job)}: no archive of {job.source} in {job.repository}",
                       {"rpo_seconds": rpo})
    future = [f"archive {a.short_id} ({a.time.isoformat()}) is {why}" for a in archives
              if (why := from_the_future(remote, a.time))]
    newest = archives[-1]
    age = newest.age()
    return Verdict(age <= rpo and not future,
                   f"{who(remote, job)}: newest archive {newest.short_id} of {job.source} in "
                   f"{job.repository} is {human_seconds(age)} old ({newest.time.isoformat()}), RPO "
                   f"{human(job.rpo)}" + "".join(f"\n  {line}" for line in future),
                   {"snapshot_age_seconds": round(age, 1), "rpo_seconds": rpo,
                    "sources": {"snapshot_age_seconds": f"archive {newest.short_id} "
                                                        f"({newest.time.isoformat()}), as found"}})


def archives_kept_by_prune_rules(remote: Remote, job: Job) -> Verdict:
    """The archives against the job's retention policy by ``borg prune``'s rules (``borg_kept``:
    ``within``, then last, hourly, daily, weekly, monthly, yearly), on the archives prune rules
    on (``match_archives``; checkpoints left out), periods read in the host's local time (what
    prune buckets days and weeks by): nothing the rules do not keep is in the repository
    (allowing what the prune after the archive before the newest kept), and borg's own ``prune
    --dry-run --list`` keeps what the rules computed here keep, or both lists are named. The
    dry run deletes nothing but takes the repository's lock, waiting for it up to LOCK_WAIT
    seconds (as ``borg check`` does). A missed night is not a finding here (the daily rule
    reaches one day further back); how far each rule reaches is told."""
    policy = job.retention
    if policy is not None and policy.borg_unsupported():
        raise DrillCouldNotRun(f"{who(remote, job)}: the retention policy's "
                               f"{', '.join(policy.borg_unsupported())} is restic's; borg prune has "
                               f"no such rule")
    local = ARCHIVES_LOCAL(remote, job) if policy is not None else {}
    instants = {a.short_id: a for a in ARCHIVES(remote, job)} if policy is not None else {}
    stamps = matching([Stamp(name, when.replace(tzinfo=None), "archive",
                             at=instants[name].time if name in instants else None)
                       for name, when in sorted(local.items(), key=lambda item: item[1])],
                      policy or Policy())
    earlier = _prune_disagrees(remote, job, stamps, instants) if policy is not None and stamps else []
    return retention_verdict(remote, job, stamps, "archive", borg_kept, ", by borg prune's rules",
                             earlier=earlier)


def _prune_disagrees(remote: Remote, job: Job, stamps: list[Stamp],
                     archives: dict[str, Snapshot]) -> list[str]:
    """borg's own ``prune --dry-run --list`` with the job's policy, against ``borg_kept`` (with
    ``within`` counted from now, as the dry run counts it)."""
    if job.retention is None or job.repository is None:
        return []
    now = datetime.now(UTC)
    words = ("env", "BORG_RELOCATED_REPO_ACCESS_IS_OK=no", "borg", "prune", "--dry-run", "--list",
             "--lock-wait", str(LOCK_WAIT), *job.retention.borg_words(), job.repository)
    result = remote.run(remote.with_credentials(words), timeout=600)
    output = f"{result.stderr}\n{result.text}"
    if not result.ok:
        raise DrillCouldNotRun(f"{who(remote, job)}: `borg prune --dry-run` of {job.repository} "
                               f"exited {result.exit_status}: {result.tail(4)}")
    theirs = borg_prune_kept(output, {a.id: name for name, a in archives.items()})
    return disagreement(borg_kept(stamps, job.retention, now), theirs, "borg prune --dry-run", stamps)
