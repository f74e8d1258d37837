"""retention.feature (and borg.feature's retention) bites: a snapshot the policy does not keep
is named, with host, job and the snapshot; a missed night is judged as the tool's own rules
judge it (no finding), and keep_within from the inventory is judged; then healed."""

import json
from datetime import UTC, datetime

import pytest

from tests.faults.test_borg import BORG, archives, repository_kept

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

RETENTION = "test_the_snapshots_keep_what_the_retention_policy_promises"
JOB = "flux-backup@motoko"
BORG_KEPT = "test_the_borg_archives_are_kept_as_borg_prunes_rules_promise"
BORG_JOB, BORG_WHO = "flux-borg@motoko", "host motoko, job flux-borg"
BACKUP = "backup /flux --host motoko --exclude-file /etc/miket/flux-backup.excludes --json"


def backdated_backup(motoko, when: datetime) -> str:
    """A real backup of /flux recorded at ``when`` (restic --time); its short ID."""
    output = motoko.restic(f"{BACKUP} --time '{when:%Y-%m-%d %H:%M:%S}'")
    summary = next(json.loads(line) for line in output.splitlines() if '"summary"' in line)
    return str(summary["snapshot_id"])[:8]


def test_a_snapshot_the_policy_does_not_keep_is_named(drill, motoko):
    drill.run(RETENTION, JOB).expect_pass()
    stray = backdated_backup(motoko, datetime(2024, 6, 1, 4, tzinfo=UTC))
    try:
        drill.run(RETENTION, JOB).expect_failure(
            "host motoko, job flux-backup", f"snapshot {stray} (2024-06-01", "outlives the policy"
        )
    finally:
        motoko.restic(f"forget {stray}")
    drill.healed(RETENTION, JOB)


def test_a_missed_night_is_judged_as_borg_prune_would_and_keep_within_is_judged(drill, motoko):
    """borg prune keeps the newest archive of each of the last 7 days that HAVE one: a night
    with no archive is no retention finding (it was, for a week, before). keep_within, from the
    inventory, keeps an extra archive on the newest day and no older one: the older is named."""
    with repository_kept(motoko):
        daily = [name for name in archives(motoko) if name.endswith("T04:00:00")]
        motoko.sh(f"{BORG}borg delete ::{daily[-2]}")
        drill.run(BORG_KEPT, BORG_JOB).expect_pass()
        recent, older = (daily[-1].removeprefix("motoko-").replace("T04:00:00", "T03:00:00"),
                         daily[-6].removeprefix("motoko-").replace("T04:00:00", "T03:00:00"))
        motoko.sh(BORG + " && ".join(f"borg create --timestamp {stamp} ::motoko-extra-{stamp} "
                                     "/flux/active/project-beta" for stamp in (recent, older)))
        within = drill.inventory_with("flux-borg", retention={"keep_within": "3d", "daily": 7,
                                                              "weekly": 4, "monthly": 12})
        run = drill.run(BORG_KEPT, BORG_JOB, inventory=within)
        run.expect_failure(BORG_WHO, f"archive motoko-extra-{older}", "outlives the policy (7 daily, "
                           "4 weekly, 12 monthly, all within 3d)", "1 violation(s)")
        assert f"motoko-extra-{recent}" not in run.output, run.output
    drill.healed(BORG_KEPT, BORG_JOB)
