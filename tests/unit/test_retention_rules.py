"""restic's and borg's own retention test tables, run against ``backup_drills.core.retention``.

restic: ``TestApplyPolicy`` of internal/data/snapshot_policy_test.go with its golden files
internal/data/testdata/policy_keep_snapshots_0..39, restic commit a80be147 (v0.19.1-213), kept
in ``recorded/restic-policy/apply_policy.json`` (snapshots, policies, kept snapshots; restic 0.16
and later: the oldest snapshot is kept while a rule has counts left). borg: ``test_prune_split``,
``test_prune_split_keep_oldest`` and ``PruneWithinTestCase`` of src/borg/testsuite/helpers.py,
borg 1.4.5 (1.2.9's prune_split and prune_within are the same code)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from backup_drills.core.retention import (
    Policy,
    Stamp,
    Within,
    borg_kept,
    borg_prune_kept,
    disagreement,
    kept,
    matching,
    restic_forget_kept,
)

TABLE = json.loads((Path(__file__).parent / "recorded" / "restic-policy" / "apply_policy.json").read_text())


def _stamp(n: int, entry: dict) -> Stamp:
    return Stamp(str(n), datetime.fromisoformat(entry["time"].replace("Z", "+00:00")),
                 tags=frozenset(entry["tags"]))


def _policy(spec: dict) -> Policy:
    if any(v == -1 for v in spec.values()):  # restic's "unlimited": the rules take it, an inventory does not
        # (model_copy, not model_construct: pydantic 2.7's model_construct fails on AliasChoices)
        return Policy().model_copy(update=spec)
    return Policy.model_validate(spec)


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["golden"] for c in TABLE["cases"]])
def test_restic_apply_policy_golden_files(case):
    snapshots = [_stamp(n, entry) for n, entry in enumerate(TABLE["snapshots"])]
    keep = kept(snapshots, _policy(case["policy"]))
    got = sorted((s.time.isoformat(), tuple(sorted(s.tags))) for s in keep)
    want = sorted((datetime.fromisoformat(k["time"].replace("Z", "+00:00")).isoformat(),
                   tuple(sorted(k["tags"]))) for k in case["keep"])
    assert got == want


def test_restic_before_0_16_does_not_keep_the_oldest_for_an_unmet_rule():
    days = [Stamp(f"d{n}", datetime(2026, 11, 29 - n, 5, tzinfo=UTC)) for n in range(3)]
    assert {s.id for s in kept(days, Policy(weekly=3))} == {"d0", "d2"}
    assert {s.id for s in kept(days, Policy(weekly=3), oldest=False)} == {"d0"}


def test_restic_counts_days_in_the_snapshots_own_offset():
    # 23:30 at +01:00 and 00:30 at +01:00 the next day: two days for restic, one UTC day
    late = datetime.fromisoformat("2026-11-28T23:30:00+01:00")
    days = [Stamp("a", late), Stamp("b", late + timedelta(hours=1))]
    assert {s.id for s in kept(days, Policy(daily=2))} == {"a", "b"}


def test_restic_groups_by_tags_when_asked():
    day = datetime(2026, 11, 29, 5, tzinfo=UTC)
    snaps = [Stamp("a", day, tags=frozenset({"x"})),
             Stamp("b", day - timedelta(hours=1), tags=frozenset({"y"}))]
    assert {s.id for s in kept(snaps, Policy(daily=1))} == {"a"}
    assert {s.id for s in kept(snaps, Policy(daily=1, group_by="host,paths,tags"))} == {"a", "b"}


BORGS_ARCHIVES = [  # src/borg/testsuite/helpers.py (1.4.5), test_prune_split
    (datetime(2015, 1, 1, 10, 0, 0), 1), (datetime(2016, 1, 1, 10, 0, 0), 2),
    (datetime(2017, 1, 1, 10, 0, 0), 3), (datetime(2017, 2, 1, 10, 0, 0), 4),
    (datetime(2017, 3, 1, 10, 0, 0), 5), (datetime(2017, 3, 2, 10, 0, 0), 6),
    (datetime(2017, 3, 3, 10, 0, 0), 7), (datetime(2017, 3, 4, 10, 0, 0), 8),
    (datetime(2017, 10, 1, 9, 45, 0), 9), (datetime(2017, 10, 1, 9, 55, 0), 10),
    (datetime(2017, 10, 1, 10, 0, 1), 11), (datetime(2017, 10, 1, 10, 0, 3), 12),
    (datetime(2017, 10, 1, 10, 0, 5), 13),
]


@pytest.mark.parametrize(("rule", "count", "expected"), [
    ("yearly", 3, {13, 2, 1}),
    ("monthly", 3, {13, 8, 4}),
    ("weekly", 2, {13, 8}),
    ("daily", 3, {13, 8, 7}),
    ("hourly", 3, {13, 10, 8}),
    ("last", 4, {13, 12, 11, 10}),  # the table's ("secondly", 4): borg's --keep-last is --keep-secondly
    ("daily", 0, set()),
])
def test_borg_prune_split_table(rule, count, expected):
    archives = [Stamp(str(n), when) for when, n in BORGS_ARCHIVES]  # local times, as prune reads them
    assert {int(a.id) for a in borg_kept(archives, Policy(**{rule: count}))} == expected


@pytest.mark.parametrize(("within", "expected"), [  # PruneWithinTestCase.test_prune_within
    ("1H", [0]), ("2H", [0, 1]), ("3H", [0, 1, 2]), ("24H", [0, 1, 2, 3]), ("26H", [0, 1, 2, 3, 4]),
    ("2d", [0, 1, 2, 3, 4]), ("50H", [0, 1, 2, 3, 4, 5]), ("3d", [0, 1, 2, 3, 4, 5]),
    ("1w", [0, 1, 2, 3, 4, 5]), ("1m", [0, 1, 2, 3, 4, 5]), ("1y", [0, 1, 2, 3, 4, 5]),
])
def test_borg_prune_within_table(within, expected):
    now = datetime.now(UTC)
    offsets = [60, 90 * 60, 150 * 60, 210 * 60, 25 * 60 * 60, 49 * 60 * 60]
    moments = [now - timedelta(seconds=s) for s in offsets]
    archives = [Stamp(str(i), at.replace(tzinfo=None), at=at) for i, at in enumerate(moments)]
    assert sorted(int(a.id) for a in borg_kept(archives, Policy(within=within), now=now)) == expected


def test_within_reads_each_tools_units():
    assert Within.parse("1m").borg_hours() == 31 * 24
    assert Within.parse("1y").borg_hours() == 365 * 24
    assert Within.parse("2w").restic() == "14d"
    assert Within.parse("36H").restic() == "36h"
    # restic's AddDate: 2016-03-31 minus a month is Feb 31st, which Go rolls into 2016-03-02
    assert Within.parse("1m").restic_start(datetime(2016, 3, 31, tzinfo=UTC)) == \
        datetime(2016, 3, 2, tzinfo=UTC)
    assert Within.parse("1y2m3d3h").restic_start(datetime(2016, 1, 18, 12, tzinfo=UTC)) == \
        datetime(2014, 11, 15, 9, tzinfo=UTC)


def test_the_inventory_takes_every_rule_and_borgmatics_names():
    policy = Policy.model_validate({"keep_within": "2d", "keep_last": 3, "keep_hourly": 24, "keep_daily": 7,
                                    "keep_tags": ["important", "a,b"], "match_archives": "sh:flux-*"})
    assert policy.within == "2d"
    assert policy.last == 3
    assert policy.daily == 7
    assert policy.describe() == ("3 last, 24 hourly, 7 daily, all within 2d, tagged important, "
                                 "tagged a,b, archives matching sh:flux-*")
    assert policy.restic_words() == ["--keep-last=3", "--keep-hourly=24", "--keep-daily=7",
                                     "--keep-within=2d", "--keep-tag=important", "--keep-tag=a,b",
                                     "--group-by=host,paths"]
    assert policy.borg_words() == ["--keep-last=3", "--keep-hourly=24", "--keep-daily=7",
                                   "--keep-within=48H", "--glob-archives=flux-*"]
    assert policy.borg_unsupported() == ["keep_tags"]
    for bad in ({"within": "2x"}, {"within": "0d"}, {"group_by": "user"}, {"match_archives": "re:^x"},
                {"daily": -1}, {"keep_secondly": 1}):
        with pytest.raises(ValidationError):
            Policy.model_validate(bad)


def test_borg_rules_only_on_matching_complete_archives():
    day = datetime(2026, 11, 29, 3, 30)
    archives = [Stamp("flux-1", day), Stamp("flux-2.checkpoint", day), Stamp("other-1", day)]
    assert [a.id for a in matching(archives, Policy(daily=1, match_archives="flux-*"))] == ["flux-1"]


def test_the_tools_dry_runs_are_read_and_a_disagreement_names_both_lists():
    forget = [{"tags": None, "host": "motoko", "paths": ["/flux"],
               "keep": [{"time": "2026-11-29T05:00:00Z", "id": "ab" * 32, "short_id": "abababab"}],
               "remove": [{"time": "2026-11-20T05:00:00Z", "id": "cd" * 32, "short_id": "cdcdcdcd"}]}]
    assert restic_forget_kept(forget) == {"abababab"}
    prune = ("Keeping archive (rule: daily #1):            motoko-2026-11-29T03:30:00   Sun, 2026-11-29 "
             f"03:30:00 [{'e' * 64}]\nWould prune:                                 motoko 2026 11 20    "
             f"Fri, 2026-11-20 03:30:00 [{'f' * 64}]\n")
    assert borg_prune_kept(prune, {"e" * 64: "motoko-2026-11-29T03:30:00"}) == {"motoko-2026-11-29T03:30:00"}
    among = [Stamp("a", datetime(2026, 11, 29, tzinfo=UTC)), Stamp("b", datetime(2026, 11, 28, tzinfo=UTC))]
    assert disagreement({among[0]}, {"a"}, "restic forget", among) == []
    [line] = disagreement({among[0]}, {"b"}, "restic forget", among)
    assert "kept here only: snapshot a (2026-11-29 00:00 UTC)" in line
    assert "kept by restic forget only: snapshot b (2026-11-28 00:00 UTC)" in line
    assert "computed here (1): a" in line
    assert "restic forget (1): b" in line
