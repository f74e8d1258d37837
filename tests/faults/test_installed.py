"""The suite as a user installs it: the built wheel alone, in a fresh virtualenv outside the
checkout, drills the lab through ``backup-drills run``, and bare ``pytest`` in a user's own folder
runs that user's feature (a custom tag, no selector tags) against the same lab."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import ROOT
from tests.unit.test_plugin import USER_FEATURE

pytestmark = [pytest.mark.lab, pytest.mark.touches("batou")]  # drills batou, the Debian 13 host


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with only the wheel built from this checkout (and its dependencies)."""
    where = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(where / "dist"),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next((where / "dist").glob("backup_drills-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(where / "venv")], check=True, timeout=120)
    subprocess.run([str(where / "venv/bin/pip"), "install", "-q", f"{wheel}[s3]"], check=True,
                   capture_output=True, timeout=600)
    return where / "venv"


def test_the_wheel_alone_drills_the_lab_and_a_users_own_folder(installed: Path, tmp_path: Path) -> None:
    user = tmp_path / "user"
    (user / "ours").mkdir(parents=True)
    shutil.copy(ROOT / "inventory/lab.yml", user / "prod.yml")
    (user / "ours/weekly.feature").write_text(USER_FEATURE)
    where = subprocess.run([str(installed / "bin/python"), "-c",
                            "import backup_drills; print(backup_drills.__file__)"],
                           cwd=user, capture_output=True, text=True, check=True, timeout=60)
    assert where.stdout.startswith(str(installed)), where.stdout  # not the checkout's copy

    version = subprocess.run([str(installed / "bin/backup-drills"), "--version"], cwd=user,
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("backup-drills "), version.stdout + version.stderr

    run = subprocess.run([str(installed / "bin/backup-drills"), "run", "--inventory", "prod.yml",
                          "-k", "batou and not canary", "-p", "no:cacheprovider", "-q"],
                         cwd=user, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert any((user / "reports/evidence").glob("*/batou-backup@batou.json")), "no evidence written"
    assert (user / "reports/allure-results/environment.properties").exists()

    own = subprocess.run([str(installed / "bin/pytest"), "ours", "--inventory", "prod.yml", "-m", "weekly",
                          "-k", "batou", "-p", "no:cacheprovider", "-q"],
                         cwd=user, capture_output=True, text=True, timeout=300)
    assert own.returncode == 0, own.stdout[-3000:] + own.stderr[-2000:]
    assert "1 passed" in own.stdout, own.stdout  # restic check of batou-backup, batou's restic job
