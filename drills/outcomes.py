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

What a verdict measured is recorded by ``require`` itself, for the job of the scenario running
(``recording``, entered by the plugin around each scenario of a job): no step chooses it.

    >>> from backup_drills.evidence.log import EvidenceLog
    >>> from backup_drills.inventory.schema import Job
    >>> log = EvidenceLog()
    >>> with recording("flux-backup@motoko", log):
    ...     require(Verdict(True, "host motoko, job flux-backup: 2 stale lock(s)", {"stale_locks": 0}))
    >>> log.jobs
    {'flux-backup@motoko': {'stale_locks': 0}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import allure

if TYPE_CHECKING:
    from backup_drills.evidence.log import EvidenceLog
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


# the job whose scenario is running and the run's evidence log, while ``recording``: set by the
# plugin for one scenario and reset after it (a context's slot, not the run's state)
_RECORDING: ContextVar[tuple[str, EvidenceLog] | None] = ContextVar("recording", default=None)


@contextmanager
def recording(job_id: str, log: EvidenceLog) -> Iterator[None]:
    """While it lasts, ``require`` records every verdict's measurements for ``job_id``."""
    token = _RECORDING.set((job_id, log))
    try:
        yield
    finally:
        _RECORDING.reset(token)


def require(verdict: Verdict) -> None:
    """Attach the verdict's evidence, record it for the running scenario's job (``recording``),
    then assert it."""
    measured = verdict.record.values()
    if measured:
        attach("evidence", {"ok": verdict.ok, "message": verdict.message, **measured})
        target = _RECORDING.get()
        if target is not None:
            job_id, log = target
            log.record(job_id, **measured)
            if "rto_seconds" in measured:  # once per job, with its restore's time
                attach_trend(job_id, log)
    if not verdict.ok:
        raise NotCompliant(verdict.message)


def attach_trend(job_id: str, log: EvidenceLog) -> None:
    """Attach the job's restore duration and data age across past runs and this one (PNG)."""
    png = log.trend(job_id)
    if png is not None:
        allure.attach(png, name="restore duration and data age across runs",
                      attachment_type=allure.attachment_type.PNG)
