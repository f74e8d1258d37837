"""Schedules compared by when they fire: cron lines through cronsim (exactly, over a whole
28-year cycle of days), systemd calendars through the host's own ``systemd-analyze calendar``
(recorded from Debian 12's systemd 252 and Debian 13's 257, and the runner's own)."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from itertools import islice, takewhile
from pathlib import Path

import pytest
from cronsim import CronSim

from backup_drills.adapters import systemd
from backup_drills.adapters.cron import parse_crontab
from backup_drills.core.calendars import (
    _CYCLE,
    ScheduleError,
    compare_calendars,
    cron_times,
    first_difference,
    five_fields,
    parse_analyze,
)
from backup_drills.core.run import DrillRun
from backup_drills.core.transport import DrillCouldNotRun, Result
from backup_drills.inventory.schema import Job, Schedule
from backup_drills.verdicts.monitoring import cron_entry_matches
from backup_drills.verdicts.schedules import timer_schedule_matches

RECORDED = Path(__file__).parent / "recorded"
SYSTEMDS = ["systemd-252", "systemd-257"]

EQUIVALENT = [
    ("0 2 * * 1-5", "0 2 * * mon-fri"),
    ("0 2 * * 1-5", "0 2 * * MON-FRI"),
    ("0 2 * * 1-5", "0 2 * * 1,2,3,4,5"),
    ("00 02 * * *", "0 2 * * *"),
    ("0 2 * * 7", "0 2 * * 0"),
    ("0 2 * * 7", "0 2 * * sun"),
    ("0 2 * * *", "0 2 * * 0-7"),
    ("0 2 * * *", "0 2 1-31 * *"),  # a field led by '*': both day fields must match
    ("0 2 * * *", "0 2 */1 * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * sun"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 jan *"),
    ("@hourly", "0 * * * *"),
    ("*/15 * * * *", "0,15,30,45 * * * *"),
    ("*/15 * * * *", "0-59/15 0-23 * * *"),
    ("0 */6 * * *", "0 0,6,12,18 * * *"),
    ("30 1 1,15 * *", "30 1 15,1 * *"),
    ("0 0 * 1-3 *", "0 0 * jan-mar *"),
    ("0 4 * * sat,sun", "0 4 * * 6-7"),
]

DIFFERENT = [
    ("0 2 * * *", "0 3 * * *"),
    ("0 2 * * 1-5", "0 2 * * 1-6"),
    ("0 2 * * 1-5", "0 2 * * *"),
    ("0 2 1 * *", "0 2 1 * 1"),  # neither day field led by '*': either matches (Debian's OR)
    ("0 2 1-31 * 1", "0 2 * * 1"),  # OR: every day; AND: Mondays
    ("0 0 */2 * sun", "0 0 */2 * *"),  # Debian: an odd date that is a Sunday (crontab(5))
    ("0 0 */2 * sun", "0 0 1-31/2 * sun"),  # odd date or Sunday
    ("*/15 * * * *", "*/20 * * * *"),
    ("@daily", "@weekly"),
    ("0 0 29 2 */7", "0 0 29 2 */6"),  # 29 Feb on a Sunday, or also on a Saturday: 2048 tells
]


@pytest.mark.parametrize(("one", "other"), EQUIVALENT, ids=[f"{a}={b}" for a, b in EQUIVALENT])
def test_equivalent_cron_schedules_fire_alike(one, other):
    assert cron_times(one) == cron_times(other)
    assert hash(cron_times(one)) == hash(cron_times(other))
    assert first_difference(one, other, datetime(2026, 12, 3), limit=50) is None


@pytest.mark.parametrize(("one", "other"), DIFFERENT, ids=[f"{a}!={b}" for a, b in DIFFERENT])
def test_different_cron_schedules_are_told_apart(one, other):
    assert cron_times(one) != cron_times(other)
    found = first_difference(one, other, datetime(2026, 12, 3))
    assert found is not None
    when, side = found
    fires = [CronSim(five_fields(s), when - timedelta(minutes=1)) for s in (one, other)]
    assert [next(iter(sim)) == when for sim in fires] == [side == 0, side == 1]


@pytest.mark.parametrize(("one", "other"), EQUIVALENT + DIFFERENT)
def test_the_exact_comparison_agrees_with_cronsims_own_firings(one, other):
    """Over the next three years of firings (or 400 of them) cronsim's iteration agrees with
    the comparison wherever it can tell at all."""
    start = datetime(2026, 12, 3)
    horizon = start + timedelta(days=3 * 366)
    seen = [list(islice(takewhile(lambda t: t <= horizon, CronSim(five_fields(s), start)), 400))
            for s in (one, other)]
    horizon = min([horizon, *(s[-1] for s in seen if len(s) == 400)])
    within = [[t for t in s if t <= horizon] for s in seen]
    if within[0] != within[1]:
        assert cron_times(one) != cron_times(other)
    elif cron_times(one) != cron_times(other):
        assert (one, other) == ("0 0 29 2 */7", "0 0 29 2 */6")  # a window of years misses it


def test_the_cycle_holds_every_month_day_and_weekday():
    assert (_CYCLE[0], _CYCLE[-1]) == (date(2001, 1, 1), date(2028, 12, 31))
    triples = {(d.month, d.day, d.weekday()) for d in _CYCLE}
    assert len(triples) == 366 * 7  # 29 February included, on every weekday


def test_schedules_debians_cron_does_not_run_are_refused():
    for bad in ("0 0 L * *", "0 0 * * 5#2", "0 0 * * 1L", "0 0 ? * *", "0 0 15W * *",
                "0 0 * * *  *", "0 0 * *", "@reboot", "61 0 * * *", "0 0 * * funday"):
        with pytest.raises(ScheduleError):
            cron_times(bad)


def test_a_cron_tz_line_is_carried_with_the_entries_under_it():
    text = ("0 1 * * * root /a\nCRON_TZ=Europe/Berlin\n0 2 * * * root /b\n"
            "TZ=UTC\n0 3 * * * root /c\nCRON_TZ=\n0 4 * * * root /d\n")
    entries = parse_crontab("/etc/cron.d/x", text)
    assert [e.cron_tz for e in entries] == [None, (2, "Europe/Berlin"), (2, "Europe/Berlin"), None]


def _cron_job(tmp: Path, line: str, schedule: str = "0 2 * * *") -> Job:
    crontab = tmp / "backup"
    crontab.write_text(f"SHELL=/bin/sh\n{line} root /usr/local/sbin/b >/dev/null\n")
    return Job.model_validate({
        "name": "b", "host": "runner", "kind": "restic", "source": "/srv", "repository": "/r",
        "rpo": "26h", "rto": "1h",
        "cron": {"file": str(crontab), "schedule": schedule, "command": "/usr/local/sbin/b"}})


@pytest.mark.parametrize("line", ["00 02 * * *", "0 2 * * 0-7", "0 2 1-31 * *"])
def test_a_cron_entry_written_otherwise_passes(local, tmp_path, line):
    verdict = cron_entry_matches(local, _cron_job(tmp_path, line))
    assert verdict.ok, verdict.message
    assert f"on '{line}'" in verdict.message
    assert "the inventory declares '0 2 * * *'; the same times" in verdict.message


def test_a_cron_entry_at_another_hour_names_both_forms_and_a_time(local, tmp_path):
    verdict = cron_entry_matches(local, _cron_job(tmp_path, "0 3 * * mon-fri", "0 2 * * 1-5"))
    assert not verdict.ok
    assert "host runner, job b:" in verdict.message
    assert f"{tmp_path}/backup:2 runs '/usr/local/sbin/b >/dev/null' as root on '0 3 * * mon-fri'"\
        in verdict.message
    assert "only the declared schedule fires" in verdict.message  # 02:00 comes first
    assert "the inventory declares '0 2 * * 1-5'" in verdict.message


def test_a_cron_entry_under_cron_tz_is_not_judged(local, tmp_path):
    job = _cron_job(tmp_path, "0 2 * * *")
    assert job.cron is not None
    crontab = Path(job.cron.file)
    crontab.write_text("CRON_TZ=America/New_York\n" + crontab.read_text())
    with pytest.raises(DrillCouldNotRun, match=r"backup:3 runs under CRON_TZ=America/New_York \(line 1\)"):
        cron_entry_matches(local, job)


# --- systemd ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", SYSTEMDS)
def test_systemd_analyze_output_reads_in_utc_in_both_versions(version):
    honolulu = parse_analyze((RECORDED / version / "calendar-honolulu.txt").read_text(), 5)
    weekdays, spelled, never = honolulu
    assert weekdays.normalized == spelled.normalized == "Mon..Fri *-*-* 02:00:00"
    assert weekdays.firings == spelled.firings
    assert [t.hour for t in weekdays.firings] == [12] * 5  # 02:00 HST
    assert not weekdays.complete
    assert never.firings == ()
    assert never.complete
    utc = parse_analyze((RECORDED / version / "calendar-utc.txt").read_text(), 5)
    four, four_utc, twice, saturday = utc
    assert four.firings == four_utc.firings
    assert [t.hour for t in twice.firings][:2] in ([4, 13], [13, 4])
    assert all(t.weekday() == 5 for t in saturday.firings)
    result = compare_calendars([four, twice], [four])
    assert not result.same
    assert [c.original for c in result.extra] == ["*-*-* 04,13:00"]
    assert result.first_difference is not None
    assert result.first_difference.hour == 13


class Host:
    """A host whose ``systemctl show`` prints two OnCalendar= lines (as systemd does, one
    ``TimersCalendar=`` line each) and whose ``systemd-analyze`` is the runner's own."""

    name = "runner"

    def __init__(self, local, calendars: list[str]) -> None:
        self.local, self.calendars = local, calendars
        self.drill_run = DrillRun()  # what a verdict reads of it is found once, in its own run

    def run(self, script, timeout=None, check=False, privileged=True, progress=None):
        if "systemd-analyze" in script:
            return self.local.run(script, timeout=timeout, check=check, privileged=False)
        if "list-timers" in script:
            return Result("runner", script, 0, b"[]", "", 0.0)
        shown = "".join(f"TimersCalendar={{ OnCalendar={c} ; next_elapse=n/a }}\n"
                        for c in self.calendars)
        text = f"Id=b.timer\nLoadState=loaded\n{shown}UnitFileState=enabled\n"
        return Result("runner", script, 0, text.encode(), "", 0.0)


def _timer_job(on_calendar: str | list[str]) -> Job:
    return Job.model_validate({
        "name": "b", "host": "runner", "kind": "restic", "source": "/srv", "repository": "/r",
        "rpo": "26h", "rto": "1h",
        "schedule": {"timer": "b.timer", "service": "b.service", "on_calendar": on_calendar}})


needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                           reason="no systemd-analyze on this runner")


@needs_systemd_analyze
@pytest.mark.parametrize(("running", "declared"), [
    (["*-*-* 00:00:00"], "daily"),
    (["*-*-* 02:00:00"], "02:00 UTC"),
    (["Mon..Fri *-*-* 02:00:00"], "Mon,Tue,Wed,Thu,Fri 2:00"),
    (["*-*-* 02:00:00", "Sat *-*-* 02:00:00"], "*-*-* 02:00"),  # the second adds no firing
    (["*-*-* 04:00:00", "*-*-* 13:00:00"], ["13:00", "04:00"]),
])
def test_a_timer_whose_calendars_fire_as_declared_passes(local, running, declared):
    verdict = timer_schedule_matches(Host(local, running), _timer_job(declared))
    assert verdict.ok, verdict.message
    assert "the same firings (800 of each compared" in verdict.message


@needs_systemd_analyze
def test_a_second_oncalendar_the_runbook_does_not_state_is_named(local):
    verdict = timer_schedule_matches(Host(local, ["*-*-* 04:00:00", "*-*-* 13:00:00"]),
                                     _timer_job("*-*-* 04:00:00"))
    assert not verdict.ok
    assert verdict.message.startswith(
        "host runner, job b: b.timer runs on '*-*-* 04:00:00', '*-*-* 13:00:00', the inventory "
        "declares '*-*-* 04:00:00' (*-*-* 04:00:00); OnCalendar=*-*-* 13:00:00 is not stated by "
        "the inventory (first difference ")
    assert verdict.evidence["not_stated"] == ["*-*-* 13:00:00"]


@needs_systemd_analyze
def test_a_declared_calendar_the_timer_lacks_is_named(local):
    verdict = timer_schedule_matches(Host(local, ["*-*-* 04:00:00"]),
                                     _timer_job(["04:00", "Sat 07:00"]))
    assert not verdict.ok
    assert "'Sat 07:00' (Sat *-*-* 07:00:00) is declared but the timer does not fire then" \
        in verdict.message


@needs_systemd_analyze
def test_a_timer_with_no_calendar_fails(local):
    verdict = timer_schedule_matches(Host(local, []), _timer_job("daily"))
    assert not verdict.ok
    assert "b.timer runs on 'no calendar', the inventory declares 'daily'" in verdict.message


@needs_systemd_analyze
def test_a_declared_calendar_systemd_refuses_names_it(local):
    with pytest.raises(ValueError, match="Failed to parse calendar specification 'every night'"):
        systemd.calendar_firings(local, ["daily", "every night"])


def test_on_calendar_is_one_expression_or_a_list():
    assert Schedule(timer="a.timer", service="a.service", on_calendar="daily").calendars == ("daily",)
    assert Schedule(timer="a.timer", service="a.service",
                    on_calendar=["daily", "12:00"]).calendars == ("daily", "12:00")
    with pytest.raises(ValueError, match="at least 1 item"):
        Schedule(timer="a.timer", service="a.service", on_calendar=[])

