"""The inventory's notifications after real drills of the lab: a receiver on this machine
(127.0.0.1, in this test process) gets the ping's ``/start`` and then its success or ``/fail``,
and the webhook the run's JSON summary. One passing drill and one failing drill (restic-check's
RPO at 1s, so its status marker on motoko is too old): nothing in the lab is changed. That a
notification that fails leaves the verdict and the exit code is tests/unit/test_notify.py's."""

import json

import pytest
import yaml

from tests.faults.conftest import ROOT
from tests.unit.test_notify import Receiver

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

FRESH = "test_the_jobs_status_marker_reports_a_success_younger_than_the_rpo"
JOB = "restic-check@motoko"
UUID = "3c5e0d9a-7f1b-4c2e-9a6d-1b2c3d4e5f60"


def with_notify(path, receiver):
    """The inventory at ``path`` with a ``notify:`` section pointing at ``receiver``."""
    doc = yaml.safe_load(path.read_text())
    doc["notify"] = {"ping": f"{receiver.url}/ping/{UUID}", "webhook": {"url": f"{receiver.url}/drills"},
                     "timeout": "5s"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def test_a_passing_and_a_failing_drill_ping_start_then_success_or_fail_and_post_their_summary(
        drill, receiver):
    passing = drill.tmp / "passing.yml"
    passing.write_text((ROOT / "inventory/lab.yml").read_text())
    drill.run(FRESH, JOB, inventory=with_notify(passing, receiver)).expect_pass()
    start, success, hook = receiver.requests
    assert [start["path"], success["path"], hook["path"]] == [f"/ping/{UUID}/start", f"/ping/{UUID}",
                                                              "/drills"]
    assert "of inventory lab started" in start["body"]
    assert "exit 0 (verified)" in success["body"]
    summary = json.loads(hook["body"])
    assert (summary["exit_code"], summary["result"], summary["failed"]) == (0, "verified", [])
    assert [(row["job"], row["verdict"]) for row in summary["jobs"]] == [(JOB, "verified")]

    receiver.requests.clear()
    failing = with_notify(drill.inventory_with("restic-check", rpo="1s"), receiver)
    drill.run(FRESH, JOB, inventory=failing).expect_failure("host motoko, job restic-check", "RPO")
    start, failed, hook = receiver.requests
    assert [start["path"], failed["path"], hook["path"]] == [f"/ping/{UUID}/start", f"/ping/{UUID}/fail",
                                                             "/drills"]
    assert "exit 1 (not compliant)" in failed["body"]
    assert f"not verified: {JOB}" in failed["body"]
    summary = json.loads(hook["body"])
    assert (summary["exit_code"], summary["result"], summary["failed"]) == (1, "not compliant", [JOB])
    assert summary["counts"] == {"verified": 0, "not_compliant": 1, "could_not_run": 0, "waived": 0}
