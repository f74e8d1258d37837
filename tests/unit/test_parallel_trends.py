"""An xdist worker draws the trend charts of the jobs it drilled as it ends; the controller
writes them into the evidence without drawing them again (steps/plugin/parallel.py)."""

from collections import Counter
from types import SimpleNamespace

import pytest

from backup_drills.core.run import DrillRun
from backup_drills.evidence.log import EvidenceLog
from backup_drills.steps.plugin.options import RUN
from backup_drills.steps.plugin.parallel import BY_HOST, drawn_trends, merge_results, pytest_configure_node
from backup_drills.steps.plugin.reporting import OUTCOMES, VERIFIED


def a_config(log: EvidenceLog, **workerinput: object) -> SimpleNamespace:
    stash = pytest.Stash()
    stash[RUN], stash[OUTCOMES], stash[VERIFIED] = DrillRun(evidence=log), Counter(), {}
    return SimpleNamespace(stash=stash, workerinput=workerinput)


def test_a_worker_that_drilled_whole_hosts_draws_its_jobs_trends(monkeypatch):
    log = EvidenceLog()
    log.record("flux-backup@motoko", restore_seconds=1.5, rto_seconds=900)
    monkeypatch.setattr(EvidenceLog, "trend", lambda self, job_id: b"PNG of " + job_id.encode())
    drawn = drawn_trends(a_config(log, **{BY_HOST: True}))
    assert drawn == {"flux-backup@motoko": b"PNG of flux-backup@motoko"}
    # --dist loadgroup or each: a job's tests may have run on several workers, none draws it
    assert drawn_trends(a_config(log, **{BY_HOST: False})) == {}
    assert drawn_trends(a_config(log)) == {}


def test_only_host_scheduling_tells_the_workers_so():
    for dist, by_host in (("load", True), ("loadgroup", False), ("each", False)):
        node = SimpleNamespace(workerinput={}, config=SimpleNamespace(getvalue=lambda name, d=dist: d))
        pytest_configure_node(node)
        assert node.workerinput[BY_HOST] is by_host


def test_the_controller_writes_the_workers_charts_without_drawing(tmp_path, monkeypatch):
    log = EvidenceLog()
    results = {"evidence": '{"jobs": {"flux-backup@motoko": {"restore_seconds": 1.5}}, "scenarios": {}, '
                           '"not_run": {}}',
               "outcomes": {}, "verified": {}, "versions": {}, "unreachable": {},
               "trends": {"flux-backup@motoko": b"\x89PNG drawn by gw0"}}
    merge_results(a_config(log), results)

    def no_drawing(self, job_id):
        raise AssertionError(f"the controller drew {job_id}'s trend again")

    monkeypatch.setattr(EvidenceLog, "trend", no_drawing)
    folder = log.write(tmp_path)
    assert (folder / "flux-backup@motoko.trend.png").read_bytes() == b"\x89PNG drawn by gw0"
