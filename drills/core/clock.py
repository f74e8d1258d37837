"""Hosts' clocks against the runner's: the skew, measured once per host, and times the estate
reports from ahead of the host's own clock (a marker, a snapshot, a metric, a dump's name).

A time from the future passes every "younger than the RPO" test, and restic's own ``forget``
counts its keep rules from it, so it is a finding of its own, named as such.

    >>> ahead_by(datetime(2026, 12, 29, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC),
    ...          timedelta(minutes=5))
    2592000.0
    >>> ahead_by(datetime(2026, 11, 29, 0, 4, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC),
    ...          timedelta(minutes=5)) is None
    True
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backup_drills.core.durations import human, human_seconds
from backup_drills.core.transport import DrillCouldNotRun, Remote


@dataclass(frozen=True)
class ClockReading:
    """The host's clock and the runner's at the same moment (the middle of the round trip)."""

    host: str
    host_time: datetime
    runner_time: datetime

    @property
    def skew_seconds(self) -> float:
        """Positive when the host's clock is ahead of the runner's."""
        return (self.host_time - self.runner_time).total_seconds()

    def now_on_host(self) -> datetime:
        """The host's idea of now, from the runner's clock and the measured skew."""
        return datetime.now(UTC) + timedelta(seconds=self.skew_seconds)


class Clocks:
    """Each host's clock against the runner's, read once per host in one run
    (``DrillRun.clocks``)."""

    def __init__(self) -> None:
        self._read: dict[str, ClockReading] = {}
        self._lock = threading.Lock()

    def read(self, remote: Remote) -> ClockReading:
        """The host's clock, read once (``date -u +%s.%N`` over the transport)."""
        with self._lock:
            known = self._read.get(remote.name)
        if known is not None:
            return known
        before = time.time()
        answer = remote.run("date -u +%s.%N", timeout=15, privileged=False)
        after = time.time()
        try:
            host_seconds = float(answer.text.strip())
        except ValueError:
            raise DrillCouldNotRun(f"host {remote.name}: cannot read its clock (`date -u +%s.%N` "
                                   f"said {answer.text.strip()[:60]!r})") from None
        reading = ClockReading(remote.name, datetime.fromtimestamp(host_seconds, UTC),
                               datetime.fromtimestamp((before + after) / 2, UTC))
        with self._lock:
            return self._read.setdefault(remote.name, reading)


def read_clock(remote: Remote) -> ClockReading:
    """The host's clock, read once per host in ``remote``'s run."""
    return remote.drill_run.clocks.read(remote)


def shown(seconds: float) -> str:
    """A gap between clocks as an operator reads it: to the second below an hour, to the
    minute past it (measuring over a round trip is not exact to the second).

    >>> shown(7199.6), shown(2591999.2), shown(42.4)
    ('2h', '30d', '42s')
    """
    seconds = abs(seconds)
    return human_seconds(round(seconds / 60) * 60 if seconds >= 3600 else round(seconds))


def ahead_by(when: datetime, now: datetime, bound: timedelta) -> float | None:
    """Seconds ``when`` lies ahead of ``now``, when that is more than ``bound``; else None."""
    ahead = (when - now).total_seconds()
    return ahead if ahead > bound.total_seconds() else None


def from_the_future(remote: Remote, when: datetime | None) -> str | None:
    """``dated 30d ahead of motoko's clock (2026-11-29T12:00:00+00:00; ...)`` for a time beyond
    the host's ``max_clock_skew``, else None (to the minute past an hour)."""
    if when is None:
        return None
    now = read_clock(remote).now_on_host()
    ahead = ahead_by(when, now, remote.host.max_clock_skew)
    if ahead is None:
        return None
    return (f"dated {shown(ahead)} ahead of {remote.name}'s clock "
            f"({now.isoformat(timespec='seconds')}; allowed skew {human(remote.host.max_clock_skew)})")
