"""The estate as found: every reading that judges a job's state is taken once, and all of a
host's readings are taken before the drill acts on that host (a canary, an on-demand backup).

A verdict asks a ``Reading`` instead of the tool: the first ask reads the host, later asks get
the same answer. ``before_acting`` takes every reading of every job of the host first, so a
whole run, ``-k``, ``-n 4`` or one node id all judge the same estate: the drill's own snapshots,
markers, metrics and service runs never count as the estate's freshness.

    >>> calls = []
    >>> answer = Reading("answer", lambda job: True, lambda remote, job: calls.append(1) or 42)
    >>> class Host: name, drill_run = "akira", type("Run", (), {"found": Found()})()
    >>> class Job: name = "space-mirror"
    >>> answer(Host(), Job()), answer(Host(), Job()), len(calls)
    (42, 42, 1)

What was found belongs to one run (``DrillRun.found``): the ``Remote`` a verdict is given
carries its run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from backup_drills.core.backends import require_answering
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job

T = TypeVar("T")


@dataclass(frozen=True)
class Reading(Generic[T]):
    """One kind of state reading (a marker, the snapshot list, the locks...), for the jobs it
    ``applies`` to. Calling it gives the reading as found, taken once per host and job."""

    name: str
    applies: Callable[[Job], bool]
    read: Callable[[Remote, Job], T]

    def __call__(self, remote: Remote, job: Job) -> T:
        value: T = remote.drill_run.found.get(self, remote, job)
        return value


READINGS: dict[str, Reading[Any]] = {}


def reading(name: str, applies: Callable[[Job], bool], read: Callable[[Remote, Job], T]) -> Reading[T]:
    """A ``Reading`` that ``before_acting`` takes too (every state reading must be one)."""
    READINGS[name] = Reading(name, applies, read)
    return READINGS[name]


class Found:
    """What the drill found, per (host, job, reading); failures are kept and raised again, so a
    reading that could not be taken before an action is not silently taken after it."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str, str], tuple[bool, Any]] = {}
        self._observed: dict[str, datetime] = {}
        self._jobs_by_host: dict[str, list[Job]] = {}
        self._lock = threading.RLock()

    def know_jobs(self, jobs: Iterable[Job]) -> None:
        """The inventory's jobs, so that acting on one job observes its host's others first."""
        with self._lock:
            self._jobs_by_host.clear()
            for job in jobs:
                self._jobs_by_host.setdefault(job.host, []).append(job)

    def get(self, reading: Reading[Any], remote: Remote, job: Job) -> Any:
        key = (remote.name, job.name, reading.name)
        with self._lock:
            if key not in self._values:
                try:
                    self._values[key] = (True, reading.read(remote, job))
                except Exception as exc:  # kept: the same failure on every later ask
                    self._values[key] = (False, exc)
            ok, value = self._values[key]
        if not ok:
            raise value
        return value

    def before_acting(self, remote: Remote, job: Job) -> datetime:
        """Take every reading of every job on ``job``'s host (once); returns when the host was
        observed. Call it before planting a canary or starting a backup: it also refuses (could
        not run) when one of the job's backends failed its up-front probe."""
        require_answering(remote, job)
        with self._lock:
            if remote.name not in self._observed:
                for each in self._jobs_by_host.get(remote.name) or [job]:
                    for reading in READINGS.values():
                        if reading.applies(each):
                            try:
                                self.get(reading, remote, each)
                            except Exception:  # kept; raised when asked
                                continue
                self._observed[remote.name] = datetime.now(UTC)
            return self._observed[remote.name]


def before_acting(remote: Remote, job: Job) -> datetime:
    """``Found.before_acting`` in ``remote``'s run: every reading of ``job``'s host taken
    before the drill acts there; when the host was observed."""
    return remote.drill_run.found.before_acting(remote, job)
