"""A fleet beyond one runner: three hosts of the lab drilled as three shards in separate processes
(as three runners of a CI matrix would), merged by ``backup-drills merge`` into one run that equals
the unsharded run of the same hosts in jobs, verdicts and exit code; signatures checked on the way
in, the merged evidence signed again."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from backup_drills.cli import main
from backup_drills.evidence.manifest import verify_run
from tests.faults.conftest import Drill

pytestmark = [pytest.mark.lab, pytest.mark.alone]


SHARDED = ("akira", "motoko", "miraclemax")  # one host a shard: 3, 3 and 2 jobs


def verdicts(folder, hosts=None):
    docs = (json.loads(path.read_text()) for path in folder.glob("*@*.json"))
    return {doc["job"]: doc["verdict"] for doc in docs
            if hosts is None or doc["job"].rpartition("@")[2] in hosts}


def of_hosts(inventory, hosts, out):
    """``inventory`` with only ``hosts`` and their jobs, written to ``out``."""
    doc = yaml.safe_load(inventory.read_text())
    doc["hosts"] = {name: host for name, host in doc["hosts"].items() if name in hosts}
    doc["jobs"] = {name: job for name, job in doc["jobs"].items() if job["host"] in hosts}
    out.write_text(yaml.safe_dump(doc))
    return out


def test_three_shards_merged_equal_the_unsharded_run(one_failing_run, tmp_path_factory, capsys):
    whole = one_failing_run  # flux-backup's RTO at 1 s: exactly its restore fails, exit 1
    private, public = whole.tmp / "keys/evidence.key", whole.tmp / "keys/evidence.pub"
    inventory = of_hosts(whole.drill.inventory_with("flux-backup", rto="1s"), SHARDED,
                         tmp_path_factory.mktemp("sharded") / "three-hosts.yml")
    shards = [Drill(tmp_path_factory.mktemp(f"shard-{i}")) for i in (1, 2, 3)]
    with ThreadPoolExecutor(max_workers=3) as runners:  # side by side, as three CI runners would
        runs = runners.map(lambda part: part[1].run_features(
            "-q", f"--inventory={inventory}", f"--shard={part[0]}/3", f"--sign-evidence={private}"),
            enumerate(shards, 1))
        codes = [run.returncode for run in runs]
    assert sorted(codes) == [0, 0, 1], codes  # only flux-backup's shard finds it not compliant
    out = tmp_path_factory.mktemp("merged")
    code = main(["merge", "--evidence", *(str(d.tmp / "evidence") for d in shards),
                 "--allure", *(str(d.tmp / "allure") for d in shards),
                 "--out", str(out), "--key", str(public), "--sign", str(private)])
    printed = capsys.readouterr().out
    assert code == whole.run.returncode == 1, printed
    merged = next(p for p in out.iterdir() if p.is_dir() and p.name.endswith("-merged"))
    unsharded = next(p for p in (whole.tmp / "evidence").iterdir() if p.is_dir())
    assert verdicts(merged) == verdicts(unsharded, SHARDED)  # every job once, the same verdicts
    assert verdicts(merged)["flux-backup@motoko"] == "not_compliant"
    assert "(1/3, 2/3, 3/3)" in printed
    assert verify_run(merged, public).all() == []  # signed again, listing the three shard manifests
    assert len(json.loads((merged / "manifest.json").read_text())["shards"]) == 3
    results = sum(len(list((d.tmp / "allure").glob("*-result.json"))) for d in shards)
    assert len(list((out / "allure-results").glob("*-result.json"))) == results
    assert (merged / "controls.md").exists()
    assert (merged / "summary.html").exists()


def test_a_missing_shard_and_a_job_in_two_shards_are_named(one_failing_run, tmp_path_factory, capsys):
    evidence = one_failing_run.tmp / "evidence"
    run = next(p for p in evidence.iterdir() if p.is_dir())
    twice = main(["merge", "--evidence", str(run), str(run), "--out", str(tmp_path_factory.mktemp("m"))])
    assert twice == 4
    assert "is in two shards" in capsys.readouterr().err
    shard = tmp_path_factory.mktemp("shard-labelled")
    for file in run.glob("*@*.json"):
        doc = json.loads(file.read_text())
        (shard / file.name).write_text(json.dumps({**doc, "shard": "1/3"}))
    missing = main(["merge", "--evidence", str(shard), "--out", str(tmp_path_factory.mktemp("m2"))])
    assert missing == 4
    assert "missing shard(s) 2/3, 3/3 of 3" in capsys.readouterr().err
