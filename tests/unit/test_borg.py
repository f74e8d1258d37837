"""borg, as Debian 12 (1.2) and Debian 13 (1.4) print it, and ``borg prune``'s rules with the
cases of borg's own test suite (``testsuite/helpers.py``: ``test_prune_split`` and
``test_prune_split_keep_oldest``; the secondly, minutely and hourly rows are left out: an
inventory's retention states days, weeks, months and years)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_drills.adapters.borg import parse_archives
from backup_drills.core.retention import Policy, Stamp, borg_kept, kept, outliving

RECORDED = Path(__file__).parent / "recorded"


@pytest.mark.parametrize("version", ["borg-1.2", "borg-1.4"])
def test_archive_lists_of_both_generations_parse_with_their_local_times_as_utc(version):
    archives = parse_archives((RECORDED / version / "list.json").read_text(), "h", "/flux/active")
    assert len(archives) == 3
    assert [a.time for a in archives] == sorted(a.time for a in archives)
    assert archives[0].time == datetime(2026, 11, 27, 4, tzinfo=UTC)  # read with TZ=UTC
    assert archives[0].short_id.endswith("-2026-11-27T04:00:00")
    assert len(archives[0].id) == 64


def test_an_aware_start_keeps_its_offset():
    text = '{"archives": [{"name": "a", "id": "1", "start": "2026-11-29T03:30:00+01:00"}]}'
    assert parse_archives(text, "h", "/s")[0].time == datetime(2026, 11, 29, 2, 30, tzinfo=UTC)


def test_borg_keeps_the_oldest_when_a_rule_cannot_be_met():
    # testsuite/helpers.py, test_prune_split_keep_oldest
    archives = [Stamp(name, datetime(*day, 10, tzinfo=UTC))
                for name, day in (("1", (2018, 1, 1)), ("2", (2018, 12, 30)), ("3", (2018, 12, 31)),
                                  ("4", (2019, 12, 31)))]
    assert {a.id for a in borg_kept(archives, Policy(yearly=3))} == {"1", "3", "4"}
    assert [line.split(" ")[1] for line in outliving(archives, Policy(yearly=3), borg_kept)] == ["2"]


def test_a_period_an_earlier_rule_kept_is_passed_over_uncounted_unlike_restic():
    # daily keeps d0 (Sunday 2026-11-29, ISO week 48); weekly then passes week 48 over without
    # counting it and keeps the newest of week 47, d7 (Sunday 11-22). restic counts week 48.
    days = [Stamp(f"d{n}", datetime(2026, 11, 29 - n, 4, tzinfo=UTC)) for n in range(10)]
    assert {a.id for a in borg_kept(days, Policy(daily=1, weekly=1))} == {"d0", "d7"}
    assert {a.id for a in kept(days, Policy(daily=1, weekly=1))} == {"d0"}
