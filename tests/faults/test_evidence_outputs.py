"""A whole drill with one failing job (the session's ``one_failing_run``, on two workers):
signed evidence verifies, and the Prometheus textfile marks exactly that job unverified; the
exit code says "not compliant"."""

import json
import re
from pathlib import Path

import pytest

from drills.evidence.controls import matrix
from drills.evidence.signing import verify_path
from drills.inventory.schema import load_inventory

pytestmark = [pytest.mark.lab, pytest.mark.alone]
ROOT = Path(__file__).resolve().parents[2]


def test_signed_evidence_and_textfile_from_a_drill_with_one_failing_job(one_failing_run):
    run, tmp_path = one_failing_run.run, one_failing_run.tmp
    public, textfile = tmp_path / "keys" / "evidence.pub", tmp_path / "textfile" / "backup_drills.prom"
    assert run.returncode == 1, run.stdout[-3000:]
    assert re.search(r"\b1 failed, 1\d\d passed\b", run.stdout), run.stdout[-3000:]
    signed = list((tmp_path / "evidence").rglob("*.json.sig"))
    assert len(signed) == len(load_inventory(ROOT / "inventory/lab.yml").jobs)  # one per job
    assert verify_path(tmp_path / "evidence", public) == []
    text = textfile.read_text()
    assert 'backup_drill_verified{job="flux-backup",host="motoko"} 0' in text
    assert 'backup_drill_verified{job="space-mirror",host="akira"} 1' in text
    assert 'backup_drill_verified{job="restic-check",host="motoko"} 1' in text
    assert 'backup_drill_rto_seconds{job="flux-backup",host="motoko"} 1' in text
    summary = next((tmp_path / "evidence").rglob("summary.md")).read_text()
    assert "| flux-backup@motoko | not_compliant |" in summary
    assert "| space-mirror@akira | verified |" in summary
    rows = matrix(tmp_path / "evidence")
    restore = [
        r
        for r in rows["ISO27001-A.8.13"]
        if r["job"] == "flux-backup@motoko"
        and r["scenario"] == "The latest snapshot restores byte-identical within the RTO"
    ]
    assert [r["outcome"] for r in restore] == ["not_compliant"]
    # every scenario the report labels with the control is in the matrix, once
    results = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    labelled = [r for r in results if {"name": "control", "value": "SOC2-A1.2"} in r["labels"]]
    assert len(rows["SOC2-A1.2"]) == len(labelled) > 60
