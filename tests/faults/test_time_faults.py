"""Time is an input, not an assumption: a host's clock off from the runner's, times from the
future in markers and snapshots, and a host in another time zone.

A container shares the kernel's clock, so a host's clock cannot really be set apart from the
runner's here: the skew fault shifts what the host's ``date`` says (a wrapper ahead of
/bin/date on the PATH), which is how the drill reads a host's clock.
"""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("akira")]

CLOCK = "test_the_jobs_host_clock_agrees_with_the_runners"
MARKER_FRESH = "test_the_jobs_status_marker_reports_a_success_younger_than_the_rpo"
SNAPSHOT_FRESH = "test_the_latest_snapshot_is_younger_than_the_rpo"
TIMER = "test_the_jobs_timer_is_armed_on_its_declared_schedule"
MARKER = "/space/_ops/data-estate/markers/b2_mirror.json"
SHIFTED_DATE = '#!/bin/sh\nexec /bin/date -d "@$(( $(/bin/date +%s) + 7200 ))" "$@"\n'


def test_a_host_clock_two_hours_ahead_is_named_with_both_clocks(drill, akira):
    drill.run(CLOCK, "space-mirror@akira").expect_pass()
    with akira.keep("/usr/local/bin/date"):
        akira.sh(f"printf '%s' '{SHIFTED_DATE}' > /usr/local/bin/date && chmod 755 /usr/local/bin/date")
        run = drill.run(CLOCK, "space-mirror@akira")
    run.expect_failure("host akira, job space-mirror: akira's clock read", "when the runner's read",
                       "2h ahead of it, allowed 5m")


def test_a_marker_dated_30_days_ahead_is_named_as_from_the_future(drill, akira):
    ahead = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
    with akira.keep(MARKER):
        akira.sh(f"jq '.completed_at = \"{ahead}\"' {MARKER} > /tmp/m && cat /tmp/m > {MARKER}")
        run = drill.run(MARKER_FRESH, "space-mirror@akira")
    run.expect_failure(f"host akira, job space-mirror: marker {MARKER} is dated 30d",
                       "ahead of akira's clock", "its time cannot be trusted")
    drill.healed(MARKER_FRESH, "space-mirror@akira")


@pytest.mark.touches("motoko")
def test_a_snapshot_dated_a_year_ahead_is_named(drill, motoko):
    ahead = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
    made = motoko.restic(f"backup /flux --host motoko --time '{ahead}' --json --quiet")
    snapshot = next(json.loads(line) for line in made.splitlines()
                    if line.startswith("{") and '"summary"' in line)["snapshot_id"][:8]
    try:
        run = drill.run(SNAPSHOT_FRESH, "flux-backup@motoko")
    finally:
        motoko.restic(f"forget {snapshot}")
    run.expect_failure(f"host motoko, job flux-backup: latest snapshot {snapshot}",
                       f"snapshot {snapshot} (", "is dated 365d", "ahead of motoko's clock")
    drill.healed(SNAPSHOT_FRESH, "flux-backup@motoko")


def test_a_host_in_honolulu_whose_timer_fires_soon_is_armed(drill, akira):
    """systemd prints times in the host's zone: read as the runner's, a timer 37 minutes ahead
    in Honolulu (UTC-10) looked ten hours overdue."""
    local = (datetime.now(ZoneInfo("Pacific/Honolulu")) + timedelta(minutes=37)).strftime("%H:%M")
    calendar = f"*-*-* {local}:00"
    dropin = "/etc/systemd/system/space-mirror.timer.d"
    inventory = drill.inventory_with("space-mirror", schedule={
        "timer": "space-mirror.timer", "service": "space-mirror.service", "on_calendar": calendar})
    try:
        akira.sh(f"timedatectl set-timezone Pacific/Honolulu && mkdir -p {dropin} && "
                 f"printf '[Timer]\\nOnCalendar=\\nOnCalendar={calendar}\\n' > {dropin}/zz-fault.conf && "
                 "systemctl daemon-reload && systemctl restart space-mirror.timer")
        run = drill.run(TIMER, "space-mirror@akira", inventory=inventory)
    finally:
        akira.sh(f"timedatectl set-timezone Etc/UTC; rm -rf {dropin}; systemctl daemon-reload; "
                 "systemctl restart space-mirror.timer")
    run.expect_pass()
    drill.healed(TIMER, "space-mirror@akira")
