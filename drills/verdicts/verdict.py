"""What every verdict is: ``Verdict(ok, message, evidence)``, whose message names host,
job and the path or unit concerned (``who``), and the RTO verdict every restore shares.

``evidence`` is what the verdict measured, each age and duration with its source; it is
checked as a typed ``Measured`` record (``backup_drills.evidence.records``) when the verdict is
made, and ``record`` holds it: ``require`` records it for the scenario's job.

    >>> Verdict(True, "host motoko, job flux: fresh", {"snapshot_age_seconds": 60.0,
    ...         "sources": {"snapshot_age_seconds": "snapshot 1d5bed9b, as found"}}).record.sources
    {'snapshot_age_seconds': 'snapshot 1d5bed9b, as found'}
    >>> Verdict(True, "host motoko, job flux: fresh", {"snapshot_age": 60.0})
    Traceback (most recent call last):
    ValueError: host motoko, job flux: fresh: measured snapshot_age: Extra inputs are not permitted
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from backup_drills.core.durations import human, human_seconds
from backup_drills.core.retention import Rules, Stamp, kept, outliving, reach
from backup_drills.core.transport import Remote
from backup_drills.evidence.records import Measured
from backup_drills.inventory.schema import Job


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    record: Measured = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "record", Measured.of(self.evidence))
        except ValueError as exc:  # a verdict's own mistake: names the verdict and the key
            raise ValueError(f"{self.message.splitlines()[0] if self.message else 'verdict'}: "
                             f"{exc}") from None


def who(host: Remote | str, job: Job) -> str:
    """``host akira, job space-mirror``: how every verdict begins."""
    return f"host {host if isinstance(host, str) else host.name}, job {job.name}"


class Timed(Protocol):
    """A restore judged against the RTO (a tree restore or a database restore)."""

    job: Job
    host: str

    @property
    def drill_seconds(self) -> float: ...

    def evidence(self) -> dict[str, object]: ...


def restore_evidence(outcome: Timed) -> dict[str, object]:
    """The restore's evidence, its time with its source: the outcome's own when it names one,
    else what was restored and where (``/var/backups/pg/app.dump (snapshot 1d5bed9b), restored
    into scratch on cartae``)."""
    measured = outcome.evidence()
    sources = measured.get("sources")
    if "restore_seconds" in measured and not (isinstance(sources, dict) and "restore_seconds" in sources):
        what = getattr(outcome, "what", ".")
        measured = {**measured, "sources": {
            **(sources if isinstance(sources, dict) else {}),
            "restore_seconds": f"{outcome.job.source if what == '.' else what}, restored into "
                               f"scratch on {outcome.host}"}}
    return measured


def within_rto(outcome: Timed) -> Verdict:
    job = outcome.job
    if job.rto is None:
        return Verdict(False, f"{who(outcome.host, job)}: no RTO declared")
    what = getattr(outcome, "what", ".")
    return Verdict(outcome.drill_seconds <= job.rto.total_seconds(),
                   f"{who(outcome.host, job)}: restore of {job.source if what == '.' else what} took "
                   f"{human_seconds(outcome.drill_seconds)} (restore and verify), "
                   f"RTO {human(job.rto)}", restore_evidence(outcome))


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
