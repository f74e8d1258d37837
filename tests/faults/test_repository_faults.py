"""repository.feature bites: corrupt packs, an old latest snapshot and a stale lock are caught."""

import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_drills.core.coverage import slice_for
from tests.faults.conftest import (
    blob_location,
    flip_one_byte,
    latest_root_tree,
    packs_by_type,
    put_back,
    scenario_node,
)

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

CHECK = "test_restic_check_passes"
SUBSET = "test_a_readdata_subset_check_passes"
FRESH = "test_the_latest_snapshot_is_younger_than_the_rpo"
LOCKS = "test_the_repository_has_no_stale_locks"
LISTED = "test_the_latest_snapshot_lists_the_jobs_sample_file"
ROTATION = "test_every_pack_of_the_repository_was_read_within_the_rotation"
VANISHED = "test_no_file_still_in_the_source_vanished_from_the_newest_snapshot"
SAMPLE = "/flux/active/project-beta/notebooks/naïve café – notes.txt"
BACKUP = "backup /flux --host motoko --exclude-file /etc/miket/flux-backup.excludes --quiet"


def test_a_flipped_byte_in_a_tree_pack_fails_restic_check(drill, motoko, bucket):
    pack, offset, length = blob_location(motoko, latest_root_tree(motoko))
    original = flip_one_byte(bucket, pack, offset + length // 2)
    try:
        run = drill.run(CHECK, "flux-backup@motoko")
    finally:
        put_back(bucket, pack, original)
    run.expect_failure(
        "host motoko, job flux-backup: restic check of s3:http://objectstore:8333/backups-restic/flux failed"
    )
    drill.healed(CHECK, "flux-backup@motoko")


def test_a_flipped_byte_in_a_data_pack_fails_the_read_data_subset_check(drill, motoko, bucket):
    pack = packs_by_type(motoko)["data"][0]
    # restic's n/t subsets take the packs whose first ID byte mod t is n-1: check that bucket.
    subset = f"{int(pack[:2], 16) % 4 + 1}/4"
    inventory = drill.inventory_with("flux-backup", read_data_subset=subset)
    drill.run(SUBSET, "flux-backup@motoko", inventory).expect_pass()
    original = flip_one_byte(bucket, pack)
    try:
        run = drill.run(SUBSET, "flux-backup@motoko", inventory)
    finally:
        put_back(bucket, pack, original)
    run.expect_failure(
        f"host motoko, job flux-backup: restic check --read-data-subset={subset} of "
        "s3:http://objectstore:8333/backups-restic/flux failed",
        pack[:8],
    )


def test_a_latest_snapshot_older_than_the_rpo_fails(drill, motoko):
    snapshots = json.loads(motoko.restic("snapshots --host motoko --path /flux --json --no-lock"))
    cutoff = datetime.now(UTC) - timedelta(days=3)
    recent = [s for s in snapshots if datetime.fromisoformat(s["time"]) > cutoff]
    motoko.restic(f"forget {' '.join(s['id'] for s in recent)}")
    motoko.restic(f"{BACKUP} --time '{cutoff:%Y-%m-%d %H:%M:%S}'", timeout=600)
    try:
        run = drill.run(FRESH, "flux-backup@motoko")
    finally:  # the history comes back as it was (backdated), then a fresh backup on top
        for snap in recent:
            when = datetime.fromisoformat(snap["time"])
            motoko.restic(f"{BACKUP} --time '{when:%Y-%m-%d %H:%M:%S}'", timeout=600)
        motoko.sh("systemctl start flux-backup.service", timeout=600)
    run.expect_failure(
        "host motoko, job flux-backup: latest snapshot",
        "of /flux in s3:http://objectstore:8333/backups-restic/flux is 72h",
        "RPO 26h",
    )
    drill.healed(FRESH, "flux-backup@motoko")


def test_a_sample_file_missing_from_the_latest_snapshot_is_named(drill, motoko):
    drill.run(LISTED, "flux-backup@motoko").expect_pass()
    with motoko.keep(SAMPLE):
        motoko.sh(f"rm -f {shlex.quote(SAMPLE)} && systemctl start flux-backup.service")
        drill.run(LISTED, "flux-backup@motoko").expect_failure(
            "host motoko, job flux-backup", SAMPLE, "not found by `restic find`"
        )
    motoko.sh("systemctl start flux-backup.service")  # the next backup has it again
    drill.healed(LISTED, "flux-backup@motoko")


def test_a_file_that_vanished_from_the_backup_is_named(drill, motoko):
    """An exclude grown on the host (not in the inventory) drops files still in the source:
    `restic diff` of the two newest snapshots shows them removed, and the drill names them."""
    excludes = "/etc/miket/flux-backup.excludes"
    job_id = "flux-backup@motoko"
    with motoko.keep(excludes):
        motoko.sh(f"echo /flux/active/project-beta/notebooks >> {excludes}")
        motoko.sh("systemctl start flux-backup.service", timeout=600)
        drill.run(VANISHED, job_id).expect_failure(
            "host motoko, job flux-backup", "still in the source unchanged since before the newest snapshot",
            "/flux/active/project-beta/notebooks/")
    motoko.sh("systemctl start flux-backup.service", timeout=600)
    drill.healed(VANISHED, job_id)


def test_a_backup_of_a_source_that_was_not_mounted_fails_though_its_sample_survived(drill, motoko):
    """Most of /flux gone (an unmounted volume) but the sample file still there: the sample
    scenario passes, the shrink scenario names the drop."""
    shrink = "test_the_newest_snapshot_did_not_suddenly_shrink"
    keep = shlex.quote(SAMPLE)
    motoko.sh(f"mkdir -p /root/flux-aside && mv /flux/* /root/flux-aside/ && "
              f"mkdir -p \"$(dirname {keep})\" && cp -p /root/flux-aside/{shlex.quote(SAMPLE[6:])} {keep}")
    try:
        made = json.loads(motoko.restic(BACKUP.replace("--quiet", "--json --quiet")).splitlines()[-1])
        snapshot = made["snapshot_id"][:8]
        try:
            run = drill.run(shrink, "flux-backup@motoko")
            drill.run(LISTED, "flux-backup@motoko").expect_pass()
        finally:
            motoko.restic(f"forget {snapshot}")
    finally:
        motoko.sh("rm -rf /flux/* && mv /root/flux-aside/* /flux/ && rmdir /root/flux-aside")
    run.expect_failure(f"host motoko, job flux-backup: newest snapshot {snapshot} of /flux holds",
                       "shrunk: files:", "against a median of", "(less than 50%)", "shrunk: bytes:")
    drill.run(shrink, "flux-backup@motoko").expect_pass()


def history_run(evidence: Path, when: datetime, reads: list[tuple[int, bool]]) -> None:
    """An earlier drill's evidence for flux-backup: the rotation slices it read, passed or not."""
    run = evidence / when.strftime("%Y%m%dT%H%M%SZ")
    run.mkdir(parents=True)
    measured = {"read_data": [{"slice": f"{n}/4", "read_at": when.isoformat(timespec="seconds"),
                               "passed": ok} for n, ok in reads]}
    (run / "flux-backup@motoko.json").write_text(json.dumps(
        {"schema_version": 3, "run_id": run.name, "job": "flux-backup@motoko", "measured": measured}))


def test_a_gap_in_the_read_rotation_fails_naming_the_slice(drill):
    """Four weeks of drills of the rotation */4, one of whose slices was only read six weeks
    ago (and failed since): this week's drill reads its own slice, the gap stays named."""
    today = slice_for(datetime.now(UTC).date(), 4)
    gap = today % 4 + 1
    now, evidence = datetime.now(UTC), drill.tmp / "evidence"
    history_run(evidence, now - timedelta(weeks=6), [(gap, True)])
    history_run(evidence, now - timedelta(weeks=3), [(n, True) for n in range(1, 5) if n != gap])
    history_run(evidence, now - timedelta(weeks=1), [(gap, False)])
    run = drill.run_features("-k", "flux-backup and (subset or every_pack)", "-q", "--tb=line")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert (f"host motoko, job flux-backup: every pack of s3:http://objectstore:8333/backups-restic/flux "
            f"read within the last 29d: slice(s) {gap} of the rotation not read since") in output, output
    assert f"slice {gap}/4: last read {(now - timedelta(weeks=6)).date().isoformat()}" in output, output
    assert "1 failed, 1 passed" in output, output
    assert f"FAILED {scenario_node(ROTATION)}[flux-backup@motoko]" in output, output
