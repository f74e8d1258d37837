"""Merging shards' evidence, on evidence folders written by the suite's own EvidenceLog."""

import pytest

from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.manifest import verify_run
from backup_drills.evidence.merge import MergeError, exit_code, merge
from backup_drills.evidence.signing import keygen, signing_key
from tests.unit.test_evidence_manifest import seal


def shard(tmp_path, name, label, outcomes):
    log = EvidenceLog(run_id=f"20261129T1{name}0000Z", shard=label)
    for job, outcome in outcomes.items():
        log.record(job, restore_seconds=1.0, rto_seconds=60.0)
        log.outcome(job, "restic check passes", outcome, ["SOC2-A1.2"])
    return log.write(tmp_path / f"shard-{name}")


def test_shards_merge_into_one_run_with_the_drills_exit_code(tmp_path):
    a = shard(tmp_path, "1", "1/2", {"flux@motoko": "verified"})
    b = shard(tmp_path, "2", "2/2", {"db@cartae": "could_not_run", "web@akira": "waived"})
    merged = merge([a.parent, b], tmp_path / "out")  # a shard's evidence dir, or its run folder
    assert merged.jobs == {"db@cartae": "could_not_run", "flux@motoko": "verified", "web@akira": "waived"}
    assert merged.exit_code == 2
    assert merged.shards == ["1/2", "2/2"]
    assert "SOC2-A1.2" in (merged.folder / "controls.md").read_text()
    assert "flux@motoko" in (merged.folder / "summary.md").read_text()


def test_a_manifest_that_does_not_verify_stops_the_merge_and_the_merged_run_is_signed(tmp_path):
    private, public = keygen(tmp_path / "keys")
    a = shard(tmp_path, "1", None, {"flux@motoko": "not_compliant"})
    seal(a, private)
    merged = merge([a], tmp_path / "out", public_key=public, private_key=signing_key(str(private)))
    assert merged.exit_code == 1
    assert verify_run(merged.folder, public).all() == []
    (a / "flux@motoko.json").write_text((a / "flux@motoko.json").read_text().replace("1.0", "0.5"))
    with pytest.raises(MergeError, match="shard does not verify"):
        merge([a], tmp_path / "again", public_key=public)


def test_shards_of_different_splits_are_refused(tmp_path):
    a = shard(tmp_path, "1", "1/2", {"a@h": "verified"})
    b = shard(tmp_path, "2", "2/3", {"b@h": "verified"})
    with pytest.raises(MergeError, match="shards of different splits"):
        merge([a, b], tmp_path / "out")


def test_the_exit_code_rule():
    assert exit_code(["verified", "waived"]) == 0
    assert exit_code(["could_not_run", "not_compliant"]) == 1
