"""A whole drill with one failing job (the session's ``one_failing_run``, on two workers):
its signed manifest lists every job and verifies, with the suite and with docs/evidence.md's
standard tools (ssh-keygen, jq, sha256sum); the Prometheus textfile marks exactly that job
unverified; the exit code says "not compliant"; every job file passes the published JSON Schema
(docs/evidence.schema.json, version 4) and holds what every verdict measured, recorded by
``require`` itself (the stale locks count no step passed on before)."""

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from backup_drills.evidence.controls import matrix
from backup_drills.evidence.manifest import verify_run
from backup_drills.inventory.schema import load_inventory
from tests.unit.test_evidence_manifest import recipe, standard_tools

pytestmark = [pytest.mark.lab, pytest.mark.alone]
ROOT = Path(__file__).resolve().parents[2]


def test_signed_evidence_and_textfile_from_a_drill_with_one_failing_job(one_failing_run):
    run, tmp_path = one_failing_run.run, one_failing_run.tmp
    public, textfile = tmp_path / "keys" / "evidence.pub", tmp_path / "textfile" / "backup_drills.prom"
    assert run.returncode == 1, run.stdout[-3000:]
    assert re.search(r"\b1 failed, \d{3} passed\b", run.stdout), run.stdout[-3000:]
    (folder,) = [p for p in (tmp_path / "evidence").iterdir() if p.is_dir()]
    manifest = json.loads((folder / "manifest.json").read_text())
    jobs = sorted(job.id for job in load_inventory(ROOT / "inventory/lab.yml").jobs.values())
    assert manifest["expected_jobs"] == jobs  # every job, as the -n 2 controller saw them collected
    assert verify_run(folder, public).all() == []
    schema = Draft202012Validator(json.loads((ROOT / "docs/evidence.schema.json").read_text()))
    for path in folder.glob("*@*.json"):
        assert not [e.message for e in schema.iter_errors(json.loads(path.read_text()))], path
    flux = json.loads((folder / "flux-backup@motoko.json").read_text())["measured"]
    assert "stale_locks" in flux, flux
    assert "snapshot_age_seconds" in flux["sources"], flux
    assert standard_tools(folder, tmp_path / "keys" / "allowed_signers") == [0] * len(recipe())
    assert str(textfile) in [output["path"] for output in manifest["outputs"]]
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
