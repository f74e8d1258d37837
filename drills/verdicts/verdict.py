"""What every verdict is: ``Verdict(ok, message, evidence)``, whose message names host,
job and the path or unit concerned (``who``), and the RTO verdict every restore shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from backup_drills.core.durations import human, human_seconds
from backup_drills.core.retention import Rules, Stamp, kept, outliving, reach
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def who(host: Remote | str, job: Job) -> str:
    """``host akira, job space-mirror``: how every verdict begins."""
    return f"host {host if isinstance(host, str) else host.name}, job {job.name}"


class Timed(Protocol):
    """A restore judged against the RTO (a tree restore or a database restore)."""

    job: Job
    host: str
    drill_seconds: float

    def evidence(self) -> dict[str, object]: ...


def within_rto(outcome: Timed) -> Verdict:
    job = outcome.job
    if job.rto is None:
        return Verdict(False, f"{who(outcome.host, job)}: no RTO declared")
    what = getattr(outcome, "what", ".")
    return Verdict(outcome.drill_seconds <= job.rto.total_seconds(),
                   f"{who(outcome.host, job)}: restore of {job.source if what == '.' else what} took "
                   f"{human_seconds(outcome.drill_seconds)} (restore and verify), "
                   f"RTO {human(job.rto)}", outcome.evidence())


def retention_verdict(remote: Remote, job: Job, stamps: list[Stamp], noun: str,
                      rules: Rules = kept, how: str = "",
                      earlier: Sequence[str] = ()) -> Verdict:
    """The job's snapshots (archives) against its retention policy, by the tool's own
    ``rules``: nothing ``rules`` do not keep (``outliving``); ``earlier`` problems first (the
    tool's own dry run disagreeing, a snapshot from the future). How far each count rule reaches
    is told (``reach``), not judged: the tools keep the newest of the last N periods that HAVE
    a snapshot, so a missed night is the freshness scenario's finding. ``how`` names the rules."""
    if job.retention is None:
        return Verdict(False, f"{who(remote, job)}: declares no retention policy")
    problems = [*earlier, *outliving(stamps, job.retention, rules)] if stamps else \
        [*earlier, f"no {noun} at all, the policy promises {job.retention.describe()}"]
    detail = "".join(f"\n  {p}" for p in problems[:30])
    told = "".join(f"\n  {line}" for line in reach(stamps, job.retention, rules)) if stamps else ""
    return Verdict(not problems,
                   f"{who(remote, job)}: {len(stamps)} {noun}(s) of {job.source} in {job.repository} "
                   f"against the policy ({job.retention.describe()}{how}): {len(problems)} "
                   f"violation(s){detail}{told}",
                   {f"{noun}s": len(stamps), "retention": job.retention.describe(),
                    "violations": len(problems)})
