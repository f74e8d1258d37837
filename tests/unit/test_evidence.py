import json

import pytest

from backup_drills.cli import evidence_main as main
from backup_drills.evidence.controls import matrix, render_markdown
from backup_drills.evidence.log import EvidenceLog


def log_with_results(run_id: str, restore_outcome: str) -> EvidenceLog:
    log = EvidenceLog(run_id=run_id)
    log.record(
        "flux@motoko",
        restore_seconds=2.0,
        rto_seconds=900.0,
        snapshot_age_seconds=7200.0,
        rpo_seconds=93600.0,
    )
    log.outcome("flux@motoko", "Full restore", restore_outcome, ["ISO27001-A.8.13"])
    log.outcome("flux@motoko", "restic check passes", "verified", ["SOC2-A1.2"])
    log.outcome("mirror@akira", "Mirror check", "could_not_run", ["SOC2-A1.2"], "host akira unreachable")
    return log


def test_job_files_carry_verdict_measurements_and_scenarios(tmp_path):
    folder = log_with_results("r1", "not_compliant").write(tmp_path)
    doc = json.loads((folder / "flux@motoko.json").read_text())
    assert doc["schema_version"] == 4
    assert doc["verdict"] == "not_compliant"
    assert doc["measured"]["restore_seconds"] == 2.0
    assert [s["outcome"] for s in doc["scenarios"]] == ["not_compliant", "verified"]
    mirror = json.loads((folder / "mirror@akira.json").read_text())
    assert (mirror["verdict"], mirror["scenarios"][0]["message"]) == (
        "could_not_run",
        "host akira unreachable",
    )
    summary = (folder / "summary.md").read_text()
    row = "| flux@motoko | not_compliant | 2.0s (RTO 900s) | 2.0h (RPO 26h) | 1/2 verified |"
    assert f"{row} ISO27001-A.8.13, SOC2-A1.2 |" in summary


def test_unknown_outcomes_are_refused():
    with pytest.raises(ValueError, match="unknown outcome 'ok'"):
        EvidenceLog().outcome("j@h", "s", "ok", [])


def test_the_controls_matrix_aggregates_runs(tmp_path, capsys):
    log_with_results("r1", "not_compliant").write(tmp_path / "evidence")
    log_with_results("r2", "verified").write(tmp_path / "evidence")
    rows = matrix(tmp_path / "evidence")
    assert sorted(rows) == ["ISO27001-A.8.13", "SOC2-A1.2"]
    assert [(r["run"], r["outcome"]) for r in rows["ISO27001-A.8.13"]] == [
        ("r1", "not_compliant"),
        ("r2", "verified"),
    ]
    assert "1 of 2 drills verified." in render_markdown(rows)
    assert main(["matrix", str(tmp_path / "evidence"), "--out", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "controls.json").read_text()) == rows
    assert "2 control(s), 6 drill result(s)" in capsys.readouterr().out
