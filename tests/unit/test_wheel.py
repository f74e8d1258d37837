"""The wheel as a user meets it: built from this checkout without a warning, installed with its
dependencies (no extra) in a new virtualenv away from the checkout. There every console script
answers ``--help`` naming only commands the wheel installs, a drill over ``local://`` passes, the
bundled features and examples (the Ansible one with its ``host_vars``) are inside the package, a
missing extra is named with the command that installs it, and the lab is not there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.unit.test_notify import tiny_estate

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# the wheel is built and installed with the newest versions, in a virtualenv of its own: nothing new
# on the dependency floors (make lowest leaves it out)
pytestmark = pytest.mark.floors_irrelevant
COMMAND = re.compile(r"`((?:backup-drills|drill-[a-z]+|make|pytest)\b[^`]*)`")


# the checkout shows the wheel's tree (read by mypy, ruff and pkgutil); the wheel is built from
# pyproject's package-dir, never through these
LINKS = {"backup_drills": "drills", "drills/steps": "../steps", "drills/features": "../features",
         "drills/examples": "../inventory"}


def test_the_checkout_shows_the_wheels_tree_through_its_symlinks() -> None:
    for link, target in LINKS.items():
        found = os.readlink(ROOT / link) if os.path.islink(ROOT / link) else None
        assert found == target, f"{link}: {found!r}, expected a symlink to {target} (git: core.symlinks true)"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # setuptools warns that byte-compiling is off where PYTHONDONTWRITEBYTECODE is set: not ours
    quiet = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(out),
                            str(ROOT)], capture_output=True, text=True, timeout=600, env=quiet)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    # setuptools' own (``warning: ...``, ``...Warning:``, "Package ... is absent"), not pip's
    # notes on this machine's indexes (``WARNING: Location ...``)
    warnings = [line for line in (built.stdout + built.stderr).splitlines()
                if re.search(r"warning|is absent from the `packages`", line, re.IGNORECASE)
                and not line.lstrip().startswith("WARNING: ")]
    assert warnings == [], "\n".join(warnings)
    return next(out.glob("backup_drills-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=180)
    installed = subprocess.run([str(where / "bin/python"), "-m", "pip", "install", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return where


def run(venv: Path, command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / command), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)})


def holds_one_package_with_its_features_and_examples_and_no_lab(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {"backup_drills"}
    for expected in ("backup_drills/py.typed", "backup_drills/steps/plugin/entry.py",
                     "backup_drills/features/restore.feature", "backup_drills/examples/example.yml",
                     "backup_drills/examples/ansible/host_vars/akira.yml",
                     "backup_drills/examples/ansible/group_vars/workstations.yml"):
        assert expected in names, expected
    lab = [name for name in names if name.startswith("lab/") or name.endswith(("/Dockerfile", "/lab.yml"))]
    assert lab == []
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    text = metadata.decode()
    assert "License-Expression: Apache-2.0" in text
    for field in ("Classifier: Typing :: Typed", "Provides-Extra: paramiko", "Provides-Extra: s3",
                  *(f"Project-URL: {label}, {url}" for label, url in PROJECT.get("urls", {}).items())):
        assert field in text, field
    assert "Provides-Extra: lab" not in text
    assert not re.search(r"^Requires-Dist: (boto3|paramiko)[^;]*$", text, re.MULTILINE)  # extras only


def every_command_works_away_from_the_checkout(venv: Path, tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir(parents=True)
    where = run(venv, "python", "-c", "import backup_drills; print(backup_drills.__file__)", cwd=user)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # not the checkout's copy
    scripts = sorted(PROJECT["scripts"])
    assert "drill-lab" not in scripts
    assert not (venv / "bin/drill-lab").exists()
    helps = {script: run(venv, script, "--help", cwd=user) for script in scripts}
    subcommands = re.findall(r"^    ([a-z]+) ", helps["backup-drills"].stdout, re.MULTILINE)
    assert {"run", "inventory", "discover", "report"} <= set(subcommands), helps["backup-drills"].stdout
    for subcommand in subcommands:
        helps[f"backup-drills {subcommand}"] = run(venv, "backup-drills", subcommand, "--help", cwd=user)
    for name, done in helps.items():
        assert done.returncode == 0, f"{name} --help: {done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
    # the messages of a user's first hour name commands the wheel has
    first_hour = {"drill-steps --check": run(venv, "drill-steps", "--check", cwd=user),
                  "drill-evidence report": run(venv, "drill-evidence", "report", cwd=user),
                  **helps}
    for name, done in first_hour.items():
        assert "Traceback" not in done.stderr, f"{name}: {done.stderr}"
        for command in COMMAND.findall(done.stdout + done.stderr):
            program = command.split()[0]
            assert (venv / "bin" / program).exists(), f"{name} names `{command}`, not in the wheel"
    assert first_hour["drill-steps --check"].returncode == 4  # no checkout, so no docs/steps.md
    assert first_hour["drill-evidence report"].returncode == 4  # no results to report on


def a_drill_over_local_passes_and_a_missing_extra_is_named(venv: Path, tmp_path: Path) -> None:
    user = tmp_path / "user"
    inventory = tiny_estate(user / "estate")
    drill = run(venv, "backup-drills", "run", f"--inventory={inventory}", "-p", "no:cacheprovider",
                "-k", "status_marker_reports_a_success", cwd=user)
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-2000:]
    assert "1 passed" in drill.stdout, drill.stdout
    assert any((user / "reports/evidence").glob("*/nightly@runner.json")), "no evidence written"

    doc = yaml.safe_load(inventory.read_text())
    doc["hosts"]["runner"]["transport"] = "paramiko://drill@127.0.0.1:9"
    inventory.write_text(yaml.safe_dump(doc))
    without = run(venv, "backup-drills", "run", f"--inventory={inventory}", "-p", "no:cacheprovider",
                  "-k", "status_marker_reports_a_success", cwd=user)
    assert without.returncode == 2, without.stdout[-3000:] + without.stderr[-2000:]  # could not run
    assert ".whl[paramiko]'" in without.stdout + without.stderr, without.stdout[-3000:]  # the wheel's extra
    discovered = run(venv, "backup-drills", "discover", "paramiko://root@127.0.0.1:9", cwd=user)
    assert discovered.returncode == 2, discovered.stderr  # could not run, no traceback
    assert ".whl[paramiko]'" in discovered.stderr
    assert "Traceback" not in discovered.stderr


def test_the_wheel_installed_in_a_new_virtualenv(wheel: Path, venv: Path, tmp_path: Path) -> None:
    """One test (one build, one virtualenv, on one worker) for the three checks above."""
    holds_one_package_with_its_features_and_examples_and_no_lab(wheel)
    every_command_works_away_from_the_checkout(venv, tmp_path / "commands")
    a_drill_over_local_passes_and_a_missing_extra_is_named(venv, tmp_path / "drill")
