"""The suite as an operator runs it: inventory selection, job parametrization, bad input."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def pytest_features(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    reports = [f"--alluredir={tmp / 'allure'}", f"--evidence-dir={tmp / 'evidence'}"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", *reports, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_invalid_inventory_stops_the_run_naming_file_key_and_expectation(tmp_path):
    bad = tmp_path / "bad.yml"
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["jobs"]["flux-backup"]["rpo"] = "yesterday"
    bad.write_text(yaml.safe_dump(doc))
    run = pytest_features(f"--inventory={bad}", tmp=tmp_path)
    assert run.returncode == 4
    assert "invalid inventory, no host was touched" in run.stderr
    assert f"{bad}: jobs.flux-backup.rpo: expected a duration such as 26h" in run.stderr


def test_adding_a_job_to_the_inventory_drills_it_without_editing_a_feature(tmp_path):
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["jobs"]["home-backup"] = dict(doc["jobs"]["flux-backup"], source="/home")
    path = tmp_path / "more.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    run = pytest_features(f"--inventory={path}", "--collect-only", "-q", "-m", "repository", tmp=tmp_path)
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    # the 7 repository scenarios for each restic job, and the rotation's for those that read
    # a rotation (home-backup copies flux-backup's */4): the new job is drilled like its model
    assert sum("[home-backup@motoko]" in line for line in ids) == 8, run.stdout
    assert sum("[flux-backup@motoko]" in line for line in ids) == 8
    restic_jobs = [name for name, job in doc["jobs"].items() if job["kind"] == "restic"]
    assert {line.split("[")[1].split("@")[0] for line in ids} == set(restic_jobs)


def test_one_job_or_one_host_is_selected_with_k(tmp_path):
    run = pytest_features("--collect-only", "-q", "-k", "space-mirror", tmp=tmp_path)
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    assert ids
    assert all("[space-mirror@akira]" in line for line in ids)


def test_unreachable_hosts_are_named_in_one_line_each_and_the_run_goes_on(tmp_path):
    doc = yaml.safe_load((ROOT / "inventory/example.yml").read_text())
    for host in doc["hosts"].values():
        host.update(transport="ssh://drill@127.0.0.1:1", ssh_config=None, ssh_identity_file=None)
    path = tmp_path / "down.yml"
    path.write_text(yaml.safe_dump(doc))
    run = pytest_features(f"--inventory={path}", "-m", "markers", "-q", tmp=tmp_path)
    lines = [line for line in run.stdout.splitlines() if line.startswith("UNREACHABLE")]
    assert sorted(line.split()[2] for line in lines) == ["akira", "motoko"]
    assert "Connection refused" in lines[0]
    reports = [line for line in run.stdout.splitlines() if line.startswith("COULD NOT RUN: job ")]
    assert len(reports) == 6, run.stdout
    assert run.returncode == 2  # could not run, as opposed to 1: not compliant
    assert "6 failed" in run.stdout
