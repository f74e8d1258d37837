"""retention.feature bites: a snapshot the policy does not keep and a promised day with no
snapshot are each named, with host, job and the snapshot or day; then healed."""

import json
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

RETENTION = "test_the_snapshots_keep_what_the_retention_policy_promises"
JOB = "flux-backup@motoko"
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


def test_a_promised_day_without_a_snapshot_is_named(drill, motoko):
    day = datetime.now(UTC) - timedelta(days=2)
    snapshots = json.loads(motoko.restic("snapshots --json --no-lock --host motoko --path /flux"))
    that_day = [s for s in snapshots if s["time"].startswith(f"{day:%Y-%m-%d}")]
    assert that_day, f"the lab holds no snapshot of {day:%Y-%m-%d}"
    motoko.restic("forget " + " ".join(s["short_id"] for s in that_day))
    try:
        drill.run(RETENTION, JOB).expect_failure(
            "host motoko, job flux-backup", f"daily {day:%Y-%m-%d}: no snapshot"
        )
    finally:
        backdated_backup(motoko, day.replace(hour=4, minute=0, second=0, microsecond=0))
    drill.healed(RETENTION, JOB)
