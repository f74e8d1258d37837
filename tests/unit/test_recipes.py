"""The README's CI recipes, run as far as this machine can: each YAML block parses, and its
``backup-drills merge`` command, run through bash where the CI system would run it, merges three
shards laid out the way that system hands them over (GitHub: one artifact folder per shard;
GitLab: every shard's ``reports/`` unpacked into one folder)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drills.evidence.log import EvidenceLog
from drills.evidence.signing import keygen, sign_file, verify_path

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = {1: {"flux@motoko": "verified"}, 2: {"db@cartae": "not_compliant"}, 3: {"web@akira": "verified"}}


def recipe(name: str) -> dict:
    """The README's YAML block that follows the line starting with ``name``."""
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"^{re.escape(name)}.*?\n```yaml\n(.*?)```", text, re.MULTILINE | re.DOTALL)
    assert found, f"README has no YAML block after {name!r}"
    return yaml.safe_load(found.group(1))


def merge_command(script: str) -> str:
    """The ``backup-drills merge`` command of a recipe's script (with its continuation lines)."""
    found = re.search(r"backup-drills merge(?:\\\n|[^\n;])*", script)
    assert found, script
    return found.group(0)


def shard_reports(where: Path, number: int, private: Path) -> None:
    """What ``backup-drills run --shard N/3 --sign-evidence KEY`` leaves in a runner's reports/."""
    log = EvidenceLog(run_id=f"20261129T0{number}0000Z", shard=f"{number}/3")
    for job, outcome in OUTCOMES[number].items():
        log.record(job, restore_seconds=1.0, rto_seconds=60.0)
        log.outcome(job, "restic check passes", outcome, ["SOC2-A1.2"])
    for file in log.write(where / "evidence").glob("*.json"):
        sign_file(file, private)
    results = where / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"shard{number}-result.json").write_text("{}")


def run_merge(command: str, cwd: Path, private: Path) -> subprocess.CompletedProcess[str]:
    tools = str(Path(sys.executable).parent)
    if shutil.which("backup-drills", path=tools) is None:
        pytest.skip("backup-drills is not installed beside this Python")
    environment = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "EVIDENCE_KEY": str(private)}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=environment)


def merged_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir() and p.name.endswith("-merged")]
    return run


def merged_jobs(out: Path) -> dict[str, str]:
    return {p.stem: yaml.safe_load(p.read_text())["verdict"] for p in merged_run(out).glob("*@*.json")}


def test_the_github_matrix_recipe_merges_its_three_artifacts(tmp_path):
    jobs = recipe("GitHub Actions")["jobs"]
    assert jobs["drill"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert "--shard ${{ matrix.shard }}/3" in jobs["drill"]["steps"][0]["run"]
    private, public = keygen(tmp_path / "keys")
    shutil.copy(public, tmp_path / "evidence.pub")
    for number in OUTCOMES:  # download-artifact: shards/<artifact name>/<what reports/ held>
        shard_reports(tmp_path / "shards" / f"shard-{number}", number, private)
    script = next(step["run"] for step in jobs["merge"]["steps"] if "run" in step)
    merged = run_merge(merge_command(script), tmp_path, private)
    assert merged.returncode == 1, merged.stdout + merged.stderr  # db@cartae is not compliant
    assert merged_jobs(tmp_path / "merged") == {
        "flux@motoko": "verified", "db@cartae": "not_compliant", "web@akira": "verified"}
    assert len(list((tmp_path / "merged" / "allure-results").glob("*-result.json"))) == 3
    assert verify_path(merged_run(tmp_path / "merged"), public) == []  # signed again


def test_the_gitlab_parallel_recipe_merges_the_reports_it_unpacked_into_one_folder(tmp_path):
    doc = recipe("GitLab CI")
    assert doc["drill"]["parallel"] == 3
    assert '--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in doc["drill"]["script"][0]
    private, public = keygen(tmp_path / "keys")
    shutil.copy(public, tmp_path / "evidence.pub")
    for number in OUTCOMES:  # artifacts of every drill job, unpacked into the same reports/
        shard_reports(tmp_path / "reports", number, private)
    merged = run_merge(merge_command(doc["merge"]["script"][0]), tmp_path, private)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert merged_jobs(tmp_path / "merged") == {
        "flux@motoko": "verified", "db@cartae": "not_compliant", "web@akira": "verified"}
    assert verify_path(merged_run(tmp_path / "merged"), public) == []  # signed again
