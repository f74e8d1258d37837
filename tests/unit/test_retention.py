from datetime import UTC, datetime, timedelta

from backup_drills.core.retention import Policy, Stamp, borg_kept, kept, missing, outliving, reach

POLICY = Policy(daily=7, weekly=4, monthly=12)
NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def daily_history(days: int) -> list[Stamp]:
    return [Stamp(f"d{i:03d}", NOW - timedelta(days=i)) for i in range(days)]


def pruned(history: list[Stamp]) -> list[Stamp]:
    return sorted(kept(history, POLICY), key=lambda s: s.time)


def test_a_pruned_daily_history_conforms():
    repo = pruned(daily_history(450))
    assert 7 <= len(repo) <= 7 + 4 + 12
    assert outliving(repo, POLICY) == []
    assert missing(repo, POLICY) == []


def test_a_snapshot_nothing_keeps_is_named():
    repo = pruned(daily_history(450))
    forgotten = Stamp("old1234", NOW - timedelta(days=700))
    violations = outliving([forgotten, *repo], POLICY)
    assert violations == [
        "snapshot old1234 (2024-12-22 05:00 UTC): outlives the policy (7 daily, 4 weekly, "
        "12 monthly), nothing keeps it"
    ]


def test_a_new_backup_before_the_next_prune_is_not_a_violation():
    repo = pruned(daily_history(450))
    tomorrow = Stamp("new", NOW + timedelta(days=1))
    assert outliving([*repo, tomorrow], POLICY) == []


def test_a_missing_day_inside_the_promise_is_named():
    repo = [s for s in pruned(daily_history(450)) if s.id != "d002"]
    assert missing(repo, POLICY) == ["daily 2026-11-20: no snapshot, though the policy keeps 7 daily"]


def test_a_missing_month_is_named():
    repo = [s for s in pruned(daily_history(450)) if s.time.strftime("%Y-%m") != "2026-03"]
    assert missing(repo, POLICY) == ["monthly 2026-03: no snapshot, though the policy keeps 12 monthly"]


def test_a_young_repository_is_held_only_to_the_history_it_has():
    assert missing(daily_history(3), POLICY) == []
    assert missing([], POLICY) == ["no snapshot at all, the policy promises 7 daily, 4 weekly, 12 monthly"]


def test_a_missed_night_is_what_restic_and_borg_keep_not_a_violation():
    repo = [s for s in pruned(daily_history(450)) if s.id != "d002"]
    assert outliving(repo, POLICY) == []
    assert outliving(repo, POLICY, borg_kept) == []
    assert reach(repo, POLICY)[0] == "daily: 7 of 7, 2026-11-15 to 2026-11-22 (no snapshot on 2026-11-20)"
