"""A drill with pytest-xdist: each host's tests stay on one worker, and the controller writes
one evidence folder and the exit code as a serial run would (the session's ``one_failing_run``,
whose signed evidence and textfile test_evidence_outputs reads)."""

import re
from collections import defaultdict

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.alone]

TEST_LINE = re.compile(r"\[(gw\d+)\] \[\s*\d+%\] (PASSED|FAILED) \S+\[[^\]]*@([\w-]+)\]")


def test_a_parallel_drill_keeps_each_host_on_one_worker_and_writes_one_evidence(one_failing_run):
    run, tmp_path = one_failing_run.run, one_failing_run.tmp
    assert run.returncode == 1, run.stdout[-3000:]  # not compliant, as serially
    assert re.search(r"\b1 failed, \d+ passed\b", run.stdout), run.stdout[-3000:]
    workers: dict[str, set[str]] = defaultdict(set)
    for worker, _, host in TEST_LINE.findall(run.stdout):
        workers[host].add(worker)
    assert sorted(workers) == ["akira", "batou", "carbon", "cartae", "miraclemax", "motoko", "saito",
                              "togusa"], \
        run.stdout[-3000:]
    assert all(len(seen) == 1 for seen in workers.values()), workers
    assert len(set().union(*workers.values())) == 2  # eight hosts share both workers
    (folder,) = (tmp_path / "evidence").iterdir()
    summary = (folder / "summary.md").read_text()
    assert "| flux-backup@motoko | not_compliant |" in summary
    assert "| space-mirror@akira | verified |" in summary
    assert "| restic-check@motoko | verified |" in summary
    assert "| cartae-postgres@cartae | verified |" in summary
    assert "restore" in run.stdout.split("drill evidence")[-1]  # the closing summary, merged
    environment = (tmp_path / "allure" / "environment.properties").read_text()
    assert "motoko.restic=restic" in environment  # tool versions probed by the workers
