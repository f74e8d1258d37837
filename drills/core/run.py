"""One drill run's state, in one object that lives as long as the run: what it found on each
host, the hosts' clocks, the backends down, the buckets as found, the evidence it collects, its
signing key, the jobs it is to drill. Nothing of a run is kept in a module: two runs in one
process (a test's drills, a warm fork) never see each other's findings.

The pytest plugin makes one when it configures a drill and keeps it under one stash key
(``backup_drills.steps.plugin.options.RUN``); steps reach it through the ``drill`` fixture, verdicts through
the ``Remote`` they are given (``remote.drill_run``), which the run made.

    >>> run = DrillRun()
    >>> run.expected, run.unreachable, run.signer
    (set(), {}, None)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from backup_drills.core.clock import Clocks
from backup_drills.core.observe import Found
from backup_drills.core.transport import DownBackends, Remote
from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.signing import SigningKey
from backup_drills.inventory.schema import Inventory
from backup_drills.verdicts.bucket import BucketReadings

T = TypeVar("T")


def _no_inventory() -> Inventory:
    return Inventory(name="none", hosts={}, jobs={})


@dataclass
class DrillRun:
    """Everything one run knows: created at the start of a drill, dropped at its end."""

    inventory: Inventory = field(default_factory=_no_inventory)
    evidence: EvidenceLog = field(default_factory=EvidenceLog)
    signer: SigningKey | None = None  # --sign-evidence: signs the run's manifest
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    expected: set[str] = field(default_factory=set)  # the jobs to drill, after selection
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why it did not answer
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> tool -> version
    probed: set[str] = field(default_factory=set)  # hosts probed so far
    clocks: Clocks = field(default_factory=Clocks)
    down: DownBackends = field(default_factory=DownBackends)
    found: Found = field(init=False)  # the estate as found, per host, job and reading
    buckets: BucketReadings = field(init=False)
    _taken: dict[tuple[str, str], tuple[bool, Any]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.found = Found()
        self.found.know_jobs(self.inventory.jobs.values())
        self.buckets = BucketReadings(self.inventory)

    def once(self, what: str, job_id: str, take: Callable[[], T]) -> T:
        """``take()`` for ``job_id`` the first time any scenario asks ``what``, the same answer
        (or the same failure) after: an observation the run makes once and every scenario
        shares, never what another scenario chose to record (a check too costly to be a
        reading taken before acting: ``restic check --read-data-subset``).

        >>> run, calls = DrillRun(), []
        >>> [run.once("read check", "j@h", lambda: calls.append(1) or "passed") for _ in "ab"], calls
        (['passed', 'passed'], [1])
        """
        key = (what, job_id)
        with self._lock:
            known = self._taken.get(key)
        if known is None:
            try:
                known = (True, take())
            except Exception as exc:  # kept: the same failure for every later ask
                known = (False, exc)
            with self._lock:
                known = self._taken.setdefault(key, known)
        ok, value = known
        if not ok:
            raise value
        answer: T = value
        return answer

    def __repr__(self) -> str:  # shown as a step parameter in the report: keep it short
        return f"DrillRun(inventory {self.inventory.name}, run {self.evidence.run_id})"

    def remote(self, host: str, timeout: float) -> Remote:
        """The inventory's ``host``, reached within this run (its findings, clock, backends)."""
        return Remote(self.inventory.hosts[host], timeout=timeout, run=self)
