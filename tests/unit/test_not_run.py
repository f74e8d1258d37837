"""Scenarios a run left out for a job (writes not allowed): named in its evidence, in the
summary and in a merged run of shards, and neither verified nor failed."""

import json

from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.merge import merge

CANARY = "A canary planted before an on-demand backup comes back byte-exact"


def drilled(tmp_path, name: str, label: str, job: str):
    log = EvidenceLog(run_id=f"20261203T0{name}0000Z", shard=label)
    log.outcome(job, "restic check passes", "verified", ["ISO27001-A.8.13"])
    log.left_out(job, CANARY, "writes not allowed")
    log.left_out(job, CANARY, "writes not allowed")  # told again (by a second xdist worker)
    return log, log.write(tmp_path / f"shard-{name}")


def test_a_left_out_scenario_is_named_once_in_the_jobs_evidence_and_summary(tmp_path):
    log, folder = drilled(tmp_path, "1", "1/2", "flux@motoko")
    doc = json.loads((folder / "flux@motoko.json").read_text())
    assert doc["not_run"] == [{"scenario": CANARY, "reason": "writes not allowed"}]
    assert [s["scenario"] for s in doc["scenarios"]] == ["restic check passes"]
    assert doc["verdict"] == "verified"  # a scenario not run fails nothing
    assert log.summary_rows()[0]["scenarios"] == "1/1 verified, 1 not run: writes not allowed"
    assert "1/1 verified, 1 not run: writes not allowed" in (folder / "summary.html").read_text()


def test_a_merged_run_keeps_each_shards_left_out_scenarios(tmp_path):
    _, a = drilled(tmp_path, "1", "1/2", "flux@motoko")
    _, b = drilled(tmp_path, "2", "2/2", "db@cartae")
    merged = merge([a, b], tmp_path / "out")
    assert merged.exit_code == 0
    for job in ("flux@motoko", "db@cartae"):
        doc = json.loads((merged.folder / f"{job}.json").read_text())
        assert doc["not_run"] == [{"scenario": CANARY, "reason": "writes not allowed"}]
    assert (merged.folder / "summary.md").read_text().count("1 not run: writes not allowed") == 2
