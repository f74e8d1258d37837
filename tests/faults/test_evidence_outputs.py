"""A whole drill with one failing job: signed evidence verifies, and the Prometheus textfile
marks exactly that job unverified; the exit code says "not compliant"."""

import subprocess
import sys

import pytest

from drills.signing import keygen, verify_path
from tests.faults.conftest import ROOT

pytestmark = pytest.mark.lab


def test_signed_evidence_and_textfile_from_a_drill_with_one_failing_job(drill, tmp_path):
    private, public = keygen(tmp_path / "keys")
    inventory = drill.inventory_with("flux-backup", rto="1s")
    textfile = tmp_path / "textfile" / "backup_drills.prom"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "features/",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--inventory={inventory}",
            f"--alluredir={tmp_path / 'allure'}",
            f"--evidence-dir={tmp_path / 'evidence'}",
            f"--sign-evidence={private}",
            f"--prometheus-textfile={textfile}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 1, run.stdout[-3000:]
    assert "1 failed, 21 passed" in run.stdout
    signed = list((tmp_path / "evidence").rglob("*.json.sig"))
    assert len(signed) == 3
    assert verify_path(tmp_path / "evidence", public) == []
    text = textfile.read_text()
    assert 'backup_drill_verified{job="flux-backup",host="motoko"} 0' in text
    assert 'backup_drill_verified{job="space-mirror",host="akira"} 1' in text
    assert 'backup_drill_verified{job="restic-check",host="motoko"} 1' in text
    assert 'backup_drill_rto_seconds{job="flux-backup",host="motoko"} 1' in text
