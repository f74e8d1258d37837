"""A whole drill with one failing job (the session's ``one_failing_run``, on two workers):
signed evidence verifies, and the Prometheus textfile marks exactly that job unverified; the
exit code says "not compliant"."""

import pytest

from drills.controls import matrix
from drills.signing import verify_path

pytestmark = pytest.mark.lab


def test_signed_evidence_and_textfile_from_a_drill_with_one_failing_job(one_failing_run):
    run, tmp_path = one_failing_run.run, one_failing_run.tmp
    public, textfile = tmp_path / "keys" / "evidence.pub", tmp_path / "textfile" / "backup_drills.prom"
    assert run.returncode == 1, run.stdout[-3000:]
    assert "1 failed, 93 passed" in run.stdout
    signed = list((tmp_path / "evidence").rglob("*.json.sig"))
    assert len(signed) == 12  # one evidence file per job
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
    # schedules 14, markers 10, repository 12, endpoints 1, cron 4, metrics 4
    assert len(rows["SOC2-A1.2"]) == 46
