"""Systemd timers and services, read with ``systemctl show`` (one command per unit).

    >>> timer = read_timer(remote, "flux-backup.timer")       # doctest: +SKIP
    >>> timer.enabled, timer.active, timer.next_run is not None   # doctest: +SKIP
    (True, True, True)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from backup_drills.core.calendars import Calendar, parse_analyze
from backup_drills.core.transport import Remote, argv

_TIMER_PROPS = ("Id", "LoadState", "ActiveState", "UnitFileState", "NextElapseUSecRealtime",
                "LastTriggerUSec", "TimersCalendar", "Result")
_SERVICE_PROPS = ("Id", "LoadState", "ActiveState", "Result", "ExecMainStatus",
                  "ExecMainExitTimestamp", "ExecMainStartTimestamp")


def _show(remote: Remote, unit: str, props: tuple[str, ...]) -> dict[str, str]:
    """``systemctl show`` of some properties, timestamps as epoch seconds (``@1795955639``)
    where this systemd can (``--timestamp=unix``, systemd 248+), so no zone is guessed."""
    code = ('systemctl show --timestamp=unix -p "$1" -- "$2" 2>/dev/null || '
            'systemctl show -p "$1" -- "$2"')
    result = remote.run(argv("sh", "-c", code, "systemctl-show", ",".join(props), unit),
                        check=True, privileged=False)
    values: dict[str, str] = {}
    for line in result.text.splitlines():  # an array property (TimersCalendar) takes a line each
        key, _, value = line.partition("=")
        values[key] = f"{values[key]}\n{value}" if key in values else value
    return values


def _timer_times(remote: Remote, unit: str) -> dict[str, datetime | None]:
    """The timer's next and last elapse from ``systemctl list-timers -o json`` (microseconds
    since the epoch, whatever the host's zone), or {} where that output is not available
    (systemd before 250): then ``systemctl show``'s text is read instead."""
    listed = remote.run(argv("systemctl", "list-timers", "--all", "-o", "json", "--", unit),
                        privileged=False)
    try:
        rows = json.loads(listed.text) if listed.ok else []
    except ValueError:
        return {}
    row = next((r for r in rows if isinstance(r, dict) and r.get("unit") == unit), None)
    if row is None:
        return {}
    return {key: datetime.fromtimestamp(int(row[key]) / 1e6, UTC) if row.get(key) else None
            for key in ("next", "last")}


def _when(value: str) -> datetime | None:
    """A systemd timestamp: ``@1795955639`` (epoch seconds, ``--timestamp=unix``) or the text
    form ``Mon 2026-11-23 05:00:00 UTC``, which is only trusted with a UTC zone; empty or n/a is
    None.

    >>> _when("@1795955639").isoformat()
    '2026-11-29T12:33:59+00:00'
    >>> _when("Mon 2026-11-23 05:00:00 UTC").isoformat()
    '2026-11-23T05:00:00+00:00'
    """
    if not value or value in ("n/a", "0"):
        return None
    if value.startswith("@") and value[1:].replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(value[1:]), UTC)
    parts = value.split()
    try:
        stamp = datetime.strptime(" ".join(parts[1:3]), "%Y-%m-%d %H:%M:%S")
    except (ValueError, IndexError):
        return None
    return stamp.replace(tzinfo=UTC) if parts[-1] in ("UTC", "GMT") else stamp.astimezone(UTC)


@dataclass(frozen=True)
class TimerState:
    unit: str
    loaded: bool
    enabled: bool
    active: bool
    next_run: datetime | None
    last_trigger: datetime | None
    calendar: str

    @property
    def calendars(self) -> tuple[str, ...]:
        """Every ``OnCalendar=`` of the timer, normalized by systemd (``*-*-* 04:00:00``), from
        ``TimersCalendar``: one ``{ OnCalendar=... ; next_elapse=... }`` line each.

        >>> shown = ("{ OnCalendar=*-*-* 04:00:00 ; next_elapse=Fri 2026-12-04 04:00:00 UTC }\\n"
        ...          "{ OnCalendar=*-*-* 13:00:00 ; next_elapse=n/a }")
        >>> TimerState("t", True, True, True, None, None, shown).calendars
        ('*-*-* 04:00:00', '*-*-* 13:00:00')
        """
        return tuple(found.strip() for found in _ON_CALENDAR.findall(self.calendar))

    @property
    def on_calendar(self) -> str:
        """The first normalized ``OnCalendar=`` expression, e.g. ``*-*-* 04:00:00``."""
        return next(iter(self.calendars), "")


_ON_CALENDAR = re.compile(r"OnCalendar=(.*?) ; next_elapse=")


@dataclass(frozen=True)
class ServiceState:
    """The last run of a service; ``source`` says where it was read: systemd's unit state, or
    the journal when systemd no longer holds it (after a reboot, or an idle unit unloaded)."""

    unit: str
    loaded: bool
    result: str
    exit_status: int | None
    last_exit: datetime | None
    source: str = "systemd"

    @property
    def has_run(self) -> bool:
        return self.last_exit is not None

    @property
    def succeeded(self) -> bool:
        return self.has_run and self.result == "success" and self.exit_status == 0


def read_timer(remote: Remote, unit: str) -> TimerState:
    values = _show(remote, unit, _TIMER_PROPS)
    times = _timer_times(remote, unit)
    return TimerState(unit=unit, loaded=values.get("LoadState") == "loaded",
                      enabled=values.get("UnitFileState") == "enabled",
                      active=values.get("ActiveState") == "active",
                      next_run=times["next"] if times else
                      _when(values.get("NextElapseUSecRealtime", "")),
                      last_trigger=times["last"] if times else
                      _when(values.get("LastTriggerUSec", "")),
                      calendar=values.get("TimersCalendar", ""))


def read_service(remote: Remote, unit: str) -> ServiceState:
    values = _show(remote, unit, _SERVICE_PROPS)
    status = values.get("ExecMainStatus", "")
    state = ServiceState(unit=unit, loaded=values.get("LoadState") == "loaded",
                         result=values.get("Result", ""),
                         exit_status=int(status) if status.isdigit() else None,
                         last_exit=_when(values.get("ExecMainExitTimestamp", "")))
    return state if state.has_run else _from_journal(remote, state)


def _from_journal(remote: Remote, state: ServiceState) -> ServiceState:
    """The result of the unit's last finished start job, from the journal."""
    result = remote.run(argv("journalctl", "-u", state.unit, "-o", "json", "--no-pager", "-n", "500",
                             "--output-fields=JOB_RESULT,JOB_TYPE"))
    for line in reversed(result.text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("JOB_TYPE") == "start" and entry.get("JOB_RESULT"):
            when = datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1e6, UTC)
            done = entry["JOB_RESULT"] == "done"
            return ServiceState(state.unit, state.loaded, "success" if done else
                                str(entry["JOB_RESULT"]), 0 if done else None, when, "journal")
    return state


def normalize_calendar(remote: Remote, expression: str) -> str:
    """Ask the host's systemd to normalize a calendar expression (``daily`` -> ``*-*-* 00:00:00``)."""
    result = remote.run(argv("systemd-analyze", "calendar", "--", expression), privileged=False)
    for line in result.text.splitlines():
        if "Normalized form:" in line:
            return line.split("Normalized form:", 1)[1].strip()
    raise ValueError(f"host {remote.name}: systemd does not accept the calendar expression "
                     f"{expression!r}: {result.tail(3)}")


CALENDAR_ITERATIONS = 800  # a daily timer's next two years and more


def calendar_firings(remote: Remote, expressions: list[str],
                     iterations: int = CALENDAR_ITERATIONS) -> list[Calendar]:
    """The next ``iterations`` firings of each calendar expression, as the host's systemd
    computes them in the host's zone (``systemd-analyze calendar --iterations=N``), read in UTC."""
    result = remote.run(argv("systemd-analyze", "calendar", f"--iterations={iterations}", "--",
                             *expressions), privileged=False)
    found = parse_analyze(result.text, iterations) if result.ok else []
    if len(found) != len(expressions):
        raise ValueError(f"host {remote.name}: systemd does not accept the calendar expressions "
                         f"{expressions!r}: {result.tail(3)}")
    return found


def start_service(remote: Remote, unit: str, timeout: float) -> ServiceState:
    """Start a oneshot service and wait for it to finish (an on-demand backup)."""
    remote.run(argv("systemctl", "start", "--", unit), timeout=timeout)
    return read_service(remote, unit)
