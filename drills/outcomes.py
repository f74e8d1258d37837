"""What a scenario can conclude, in one place: the exceptions a drill raises and ``require``,
which turns a verdict into one of them. The exit code decision (``steps/plugin/reporting.py``,
``backup_drills.exit_codes``) reads these classes without importing an adapter.

    NotCompliant     a drill ran and found the estate not as the runbook says (exit 1)
    RestoreFailed    the backup tool could not give the data back: a verdict on the backup (exit 1)
    DrillCouldNotRun no verdict: a host unreachable, a command timed out, a tool missing (exit 2)

    >>> from backup_drills.verdicts.verdict import Verdict
    >>> require(Verdict(False, "host akira, job space-mirror: marker /m is 3d old, RPO 1d"))
    Traceback (most recent call last):
    backup_drills.outcomes.NotCompliant: host akira, job space-mirror: marker /m is 3d old, RPO 1d
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import allure

if TYPE_CHECKING:
    from backup_drills.evidence.log import EvidenceLog
    from backup_drills.inventory.schema import Job
    from backup_drills.verdicts.verdict import Verdict


class DrillCouldNotRun(RuntimeError):
    """The drill could not run (host unreachable, command timed out, tool missing): not a
    verdict about the backup itself."""


class NotCompliant(AssertionError):
    """A drill ran and found the estate not as the runbook says."""


class RestoreFailed(AssertionError):
    """The backup tool could not give the data back: a verdict on the backup, not the drill."""


NOT_COMPLIANT = (NotCompliant, RestoreFailed)  # exit 1: a verdict on the backup
JUDGED = (NotCompliant, RestoreFailed, DrillCouldNotRun)  # shown as their message, not a traceback


def attach(name: str, doc: dict[str, Any]) -> None:
    """Attach one piece of evidence to the running scenario's Allure report."""
    allure.attach(json.dumps(doc, indent=2, default=str), name=name,
                  attachment_type=allure.attachment_type.JSON)


def require(verdict: Verdict, job: Job | None = None, log: EvidenceLog | None = None) -> None:
    """Attach the verdict's evidence (and record it for the job), then assert it."""
    if verdict.evidence:
        attach("evidence", {"ok": verdict.ok, "message": verdict.message, **verdict.evidence})
        if job is not None and log is not None:
            log.record(job.id, **verdict.evidence)
            if "rto_seconds" in verdict.evidence:  # once per job, with its restore's time
                attach_trend(job, log)
    if not verdict.ok:
        raise NotCompliant(verdict.message)


def attach_trend(job: Job, log: EvidenceLog) -> None:
    """Attach the job's restore duration and data age across past runs and this one (PNG)."""
    png = log.trend(job.id)
    if png is not None:
        allure.attach(png, name="restore duration and data age across runs",
                      attachment_type=allure.attachment_type.PNG)
