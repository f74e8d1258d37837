"""The signed run manifest (drills/evidence/manifest.py) on folders the suite itself wrote: two
real runs of a one-job estate on this machine (``local://``, one of them with ``-n 1``) through
``backup-drills run --sign-evidence``, then one tamper case per test. Each asserts what
``drill-evidence verify`` (or ``backup-drills merge``) says and its exit code, and, where a
standard tool can see it, that docs/evidence.md's own commands (ssh-keygen, jq, sha256sum)
fail too; the healthy run passes both."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from backup_drills.cli import main
from backup_drills.evidence import manifest
from backup_drills.evidence.cli import evidence_main
from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.signing import keygen, sign, signing_key
from tests.unit.test_notify import backup_drills_run, tiny_estate

ROOT = Path(__file__).resolve().parents[2]
JOB = "nightly@runner"


def seal(folder: Path, private: Path, expected: list[str] | None = None) -> Path:
    """The manifest the run's end writes (manifest.write), signed as --sign-evidence signs."""
    run_id = folder.name
    jobs = expected if expected is not None else sorted(p.stem for p in folder.glob("*@*.json"))
    now = datetime.now(UTC)
    return sign(manifest.write(folder, manifest.RunFacts(run_id, now, now, jobs)), signing_key(str(private)))


def recipe() -> list[str]:
    """docs/evidence.md's auditor commands, one step per line (the ``cd`` left out)."""
    text = (ROOT / "docs/evidence.md").read_text()
    found = re.search(r"<!-- auditor recipe.*?-->\n```bash\n(.*?)```", text, re.DOTALL)
    assert found, "docs/evidence.md has no auditor recipe"
    return [line for line in found.group(1).splitlines()
            if line.strip() and not line.startswith(("#", "cd "))]


def standard_tools(folder: Path, allowed_signers: Path) -> list[int]:
    """Each step of the auditor recipe's exit code, run by bash in ``folder``."""
    codes = []
    for step in recipe():
        done = subprocess.run(["bash", "-c", step], cwd=folder, capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "ALLOWED_SIGNERS": str(allowed_signers)})
        codes.append(done.returncode)
    return codes


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """Two signed runs of the same estate (keys/, reports/evidence/<run>/), the second on an
    xdist worker, with a waiver in force and a Prometheus textfile."""
    tmp = tmp_path_factory.mktemp("real")
    inventory = tiny_estate(tmp / "estate")
    private, _ = keygen(tmp / "keys")
    waivers = tmp / "waivers.yml"
    waivers.write_text("waivers:\n  - job: elsewhere\n    justification: migration\n    owner: alice\n"
                       "    expires: 2999-01-01\n")
    common = (f"--inventory={inventory}", f"--sign-evidence={private}", f"--waivers={waivers}",
              f"--prometheus-textfile={tmp / 'textfile' / 'drills.prom'}")
    first = backup_drills_run(tmp, *common)
    assert first.returncode == 0, first.stdout + first.stderr
    (older,) = [p for p in (tmp / "reports/evidence").iterdir()]
    while datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") == older.name:  # a run id is a second
        subprocess.run(["sleep", "0.2"], check=True)
    second = backup_drills_run(tmp, *common, "-n", "1")
    assert second.returncode == 0, second.stdout + second.stderr
    (newer,) = [p for p in (tmp / "reports/evidence").iterdir() if p != older]
    return tmp, older, newer


@pytest.fixture
def run(real_runs, tmp_path):
    """A copy of the newer real run, free to tamper with."""
    _, _, newer = real_runs
    return Path(shutil.copytree(newer, tmp_path / newer.name))


@pytest.fixture
def keys(real_runs):
    tmp, _, _ = real_runs
    return tmp / "keys/evidence.key", tmp / "keys/evidence.pub", tmp / "keys/allowed_signers"


def verify(folder: Path, public: Path, capsys) -> tuple[int, str]:
    code = evidence_main(["verify", str(folder), "--key", str(public)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_real_run_writes_a_signed_manifest_of_everything_it_wrote(real_runs, keys, capsys):
    tmp, older, newer = real_runs
    _, public, allowed = keys
    doc = json.loads((newer / "manifest.json").read_text())
    assert doc["run_id"] == newer.name
    assert doc["expected_jobs"] == [JOB]
    assert doc["started"] <= doc["ended"]
    assert doc["suite_version"]
    inventory = tmp / "estate/inventory.yml"
    assert doc["inventory"] == {"name": "tiny", "file": "inventory.yml",
                                "sha256": hashlib.sha256(inventory.read_bytes()).hexdigest()}
    listed = {entry["path"] for entry in doc["files"]}
    assert {f"{JOB}.json", "summary.md", "summary.html", "controls.md", "controls.json"} <= listed
    assert listed == {p.name for p in newer.iterdir()} - {"manifest.json", "manifest.json.sig"}
    textfile = tmp / "textfile/drills.prom"
    digest = hashlib.sha256(textfile.read_bytes()).hexdigest()
    assert doc["outputs"] == [{"path": str(textfile), "sha256": digest}]
    assert doc["waivers"] == [{"job": "elsewhere", "scenario": "*", "owner": "alice",
                               "justification": "migration", "expires": date(2999, 1, 1).isoformat()}]
    for folder in (older, newer):
        code, said = verify(folder, public, capsys)
        assert code == 0, said
        assert f"verified: run {folder.name}, 1 job(s)" in said
        assert standard_tools(folder, allowed) == [0] * len(recipe())
    assert verify(tmp / "reports/evidence", public, capsys)[0] == 0  # every run of the evidence dir
    by_signers = evidence_main(["verify", str(newer), "--allowed-signers", str(allowed), "--identity",
                                "backup-drills"])
    assert by_signers == 0, capsys.readouterr().out


def test_an_edited_summary(run, keys, capsys):
    _, public, allowed = keys
    summary = run / "summary.html"
    summary.write_text(summary.read_text().replace("not_compliant", "verified") + " ")
    code, said = verify(run, public, capsys)
    assert code == 1
    assert f"FAILED {run / 'summary.html'}: sha256 differs from the manifest's: changed after the run" in said
    steps = standard_tools(run, allowed)
    assert steps[0] == 0
    assert steps[1] != 0


def test_a_job_file_replayed_from_another_run(real_runs, run, keys, capsys):
    _, older, _ = real_runs
    _, public, allowed = keys
    shutil.copy2(older / f"{JOB}.json", run / f"{JOB}.json")
    code, said = verify(run, public, capsys)
    assert code == 1
    assert f"{run / (JOB + '.json')}: sha256 differs" in said
    replayed = f"run_id '{older.name}', expected '{run.name}': a file from another run"
    assert f"{run / (JOB + '.json')}: {replayed}" in said
    steps = standard_tools(run, allowed)
    assert steps[1] != 0
    assert steps[2] != 0


def test_a_deleted_job_file(run, keys, capsys):
    _, public, allowed = keys
    (run / f"{JOB}.json").unlink()
    code, said = verify(run, public, capsys)
    assert code == 1
    assert f"{run / (JOB + '.json')}: listed in the manifest, missing from the folder" in said
    assert f"expected job {JOB}: its evidence file is missing" in said
    steps = standard_tools(run, allowed)
    assert steps[1] != 0
    assert steps[2] != 0


def test_a_renamed_job_file(run, keys, capsys):
    _, public, allowed = keys
    (run / f"{JOB}.json").rename(run / "weekly@runner.json")
    code, said = verify(run, public, capsys)
    assert code == 1
    for expected in (f"{run / (JOB + '.json')}: listed in the manifest, missing from the folder",
                     f"{run / 'weekly@runner.json'}: job '{JOB}' in a file named weekly@runner.json: renamed",
                     f"{run / 'weekly@runner.json'}: job weekly@runner is not among the run's expected jobs",
                     f"{run / 'weekly@runner.json'}: not listed in the manifest: added after the run"):
        assert expected in said
    steps = standard_tools(run, allowed)
    assert steps[1] != 0
    assert steps[2] != 0
    assert steps[4] != 0


def test_an_empty_folder(run, keys, capsys):
    _, public, allowed = keys
    for path in run.iterdir():
        path.unlink()
    code, said = verify(run, public, capsys)
    assert code == 1
    assert f"FAILED {run}: no manifest.json: not a signed drill run" in said
    assert standard_tools(run, allowed)[0] != 0


def test_a_manifest_rewritten_and_signed_with_another_key(run, keys, capsys, tmp_path):
    _, public, allowed = keys
    (run / "summary.md").write_text("all verified\n")
    other, _ = keygen(tmp_path / "forger")
    seal(run, other, [JOB])
    code, said = verify(run, public, capsys)
    assert code == 1
    assert f"{run / 'manifest.json.sig'}: signature does not verify for backup-drills" in said
    assert standard_tools(run, allowed)[0] != 0


def test_a_job_with_no_scenarios(tmp_path, keys, capsys):
    private, public, allowed = keys
    log = EvidenceLog(run_id="20261203T120000Z")
    log.record(JOB, restore_seconds=1.0)  # measured, yet no scenario concluded
    folder = log.write(tmp_path)
    seal(folder, private)
    code, said = verify(folder, public, capsys)
    assert code == 1
    assert f"{folder / (JOB + '.json')}: job {JOB} has no scenarios: nothing was drilled" in said
    steps = standard_tools(folder, allowed)
    assert steps[0] == 0
    assert steps[2] != 0


def test_a_signed_but_malformed_job_file_is_unreadable_input(run, keys, capsys):
    private, public, _ = keys
    (run / f"{JOB}.json").write_text('{"run_id": 7}\n')
    seal(run, private, [JOB])
    code, said = verify(run, public, capsys)
    assert code == 4
    assert f"UNREADABLE {run / (JOB + '.json')}: key 'run_id': expected a str, got 7" in said
    (run / "manifest.json").write_text("[")
    assert verify(run, public, capsys)[0] == 4


def shard(tmp_path: Path, number: int, jobs: dict[str, str]) -> Path:
    log = EvidenceLog(run_id=f"20261203T1{number}0000Z", shard=f"{number}/2")
    for job, outcome in jobs.items():
        log.record(job, restore_seconds=1.0, rto_seconds=60.0)
        log.outcome(job, "restic check passes", outcome, ["SOC2-A1.2"])
    return log.write(tmp_path / f"shard-{number}")


def merge(capsys, *args: str) -> tuple[int, str]:
    code = main(["merge", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_merged_shards_are_signed_and_list_the_shard_manifests(tmp_path, keys, capsys):
    private, public, allowed = keys
    one, two = shard(tmp_path, 1, {"a@h1": "verified"}), shard(tmp_path, 2, {"b@h2": "not_compliant"})
    seal(one, private), seal(two, private)
    code, said = merge(capsys, "--evidence", str(one), str(two), "--out", str(tmp_path / "out"),
                       "--key", str(public), "--sign", str(private))
    assert code == 1, said  # b@h2 is not compliant
    (merged,) = (tmp_path / "out").iterdir()
    doc = json.loads((merged / "manifest.json").read_text())
    assert doc["expected_jobs"] == ["a@h1", "b@h2"]
    assert [(s["run_id"], s["sha256"]) for s in doc["shards"]] == [
        (f.name, hashlib.sha256((f / "manifest.json").read_bytes()).hexdigest()) for f in (one, two)]
    assert verify(merged, public, capsys)[0] == 0
    assert standard_tools(merged, allowed) == [0] * len(recipe())
    assert standard_tools(merged / "shards/2", allowed)[0] == 0  # a shard's own signature, kept


def test_merge_sign_without_key_refuses_a_forged_shard(tmp_path, keys, capsys):
    private, public, allowed = keys
    forged = shard(tmp_path, 1, {"a@h1": "verified"})  # no manifest: never signed
    out = str(tmp_path / "out")
    code, said = merge(capsys, "--evidence", str(forged), "--out", out, "--sign", str(private))
    assert code == 4
    assert "--sign needs --key" in said
    code, said = merge(capsys, "--evidence", str(forged), "--out", str(tmp_path / "out"),
                       "--key", str(public), "--sign", str(private))
    assert code == 4
    assert f"{forged}: shard does not verify, nothing merged" in said
    assert "no manifest.json" in said
    assert not (tmp_path / "out").exists()
    assert standard_tools(forged, allowed)[0] != 0


def test_merge_refuses_a_job_that_walks_out_of_out(tmp_path, capsys):
    evil = shard(tmp_path, 1, {"a@h1": "verified"})
    doc = json.loads((evil / "a@h1.json").read_text())
    (evil / "a@h1.json").write_text(json.dumps({**doc, "job": "../../../escaped@h1"}))
    code, said = merge(capsys, "--evidence", str(evil), "--out", str(tmp_path / "out"))
    assert code == 4
    assert f"{evil / 'a@h1.json'}: key 'job': expected a job id name@host" in said
    assert not list(tmp_path.rglob("escaped@h1*"))


def test_merge_refuses_a_job_with_no_scenarios(tmp_path, capsys):
    empty = shard(tmp_path, 1, {"a@h1": "verified"})
    doc = json.loads((empty / "a@h1.json").read_text())
    (empty / "a@h1.json").write_text(json.dumps({**doc, "scenarios": []}))
    code, said = merge(capsys, "--evidence", str(empty), "--out", str(tmp_path / "out"))
    assert code == 4
    assert f"{empty / 'a@h1.json'}: job a@h1 has no scenarios" in said


@pytest.mark.parametrize("content", ['{"job": "a@h1", "run_id": "r", "scenarios": 5}', "[1, 2]", "{not json"])
def test_merge_of_a_malformed_shard_exits_4_naming_the_file(tmp_path, capsys, content):
    bad = shard(tmp_path, 1, {"a@h1": "verified"})
    (bad / "a@h1.json").write_text(content)
    code, said = merge(capsys, "--evidence", str(bad), "--out", str(tmp_path / "out"))
    assert code == 4
    assert f"backup-drills merge: {bad / 'a@h1.json'}: " in said
    assert "Traceback" not in said


def test_a_signed_manifest_listing_a_path_outside_the_folder(run, keys, capsys):
    private, public, _ = keys
    doc = json.loads((run / "manifest.json").read_text())
    doc["files"].append({"path": "../outside.txt", "sha256": "0" * 64})
    (run / "manifest.json").write_text(json.dumps(doc))
    sign(run / "manifest.json", signing_key(str(private)))
    code, said = verify(run, public, capsys)
    assert code == 1
    assert f"{run / 'manifest.json'}: lists '../outside.txt', a path outside the run folder" in said
