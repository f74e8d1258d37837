"""Parallel fleets with pytest-xdist: ``pytest features/ -n auto`` drills hosts in parallel.

Every test of one host runs on the same worker (one SSH connection, one scratch sweep, no two
restores competing on a host); different hosts run side by side. Each worker sends what it
measured and concluded to the controller, which writes the one evidence folder, the Allure
context, the Prometheus textfile and the exit code exactly as a serial run does.

    $ pytest features/ -n 4 --inventory inventory/fleet.yml
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from backup_drills.steps.plugin.options import RUN, is_worker
from backup_drills.steps.plugin.reporting import OUTCOMES, VERIFIED

WORKER_OUTPUT = "backup_drills"
HOST_OF_TEST = re.compile(r"\[[^\]]*@([^\]@]+)\]$")


class HostScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """xdist's scope scheduling with the drilled host as the scope: a test ID such as
    ``test_restic_check_passes[flux-backup@motoko]`` goes to motoko's worker.

    >>> HostScheduling._split_scope(None, "features/restore.feature::test_x[flux-backup@motoko]")
    'motoko'
    """

    def _split_scope(self, nodeid: str) -> str:
        found = HOST_OF_TEST.search(nodeid)
        return found.group(1) if found else nodeid


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    """``-n`` alone (xdist's "load") schedules by host; any other ``--dist`` is respected."""
    return HostScheduling(config, log) if config.getvalue("dist") == "load" else None


def worker_results(config: pytest.Config) -> dict[str, Any]:
    """What one worker measured and concluded, as plain data execnet can carry."""
    log, outcomes = config.stash[RUN].evidence, config.stash[OUTCOMES]
    return {"evidence": json.dumps({"jobs": log.jobs, "scenarios": log.scenarios,
                                    "not_run": log.not_run}, default=str),
            "outcomes": {kind: count for kind, count in outcomes.items()}, "verified": config.stash[VERIFIED],
            "versions": config.stash[RUN].versions, "unreachable": config.stash[RUN].unreachable,
            "trends": drawn_trends(config)}


def drawn_trends(config: pytest.Config) -> dict[str, bytes]:
    """The evidence's trend chart of each job this worker drilled, drawn here as the worker
    ends (beside the workers still drilling) rather than one after another by the controller
    once all have ended. Only when every test of a job ran here: hosts scheduled as a unit."""
    if not getattr(config, "workerinput", {}).get(BY_HOST):  # --dist loadgroup, ...: split jobs
        return {}
    log = config.stash[RUN].evidence
    drawn = {job_id: log.trend(job_id) for job_id in log.jobs}
    return {job_id: png for job_id, png in drawn.items() if png is not None}


def merge_results(config: pytest.Config, results: dict[str, Any]) -> list[str]:
    """Fold one worker's results into the controller's; return newly unreachable hosts' reasons."""
    evidence = json.loads(results["evidence"])
    log = config.stash[RUN].evidence
    for job_id, measured in evidence["jobs"].items():
        log.record(job_id, **measured)
    for job_id, outcomes in evidence["scenarios"].items():
        log.scenarios.setdefault(job_id, []).extend(outcomes)
    for job_id, entries in evidence["not_run"].items():  # every worker collected them all: once
        for entry in entries:
            log.left_out(job_id, entry["scenario"], entry["reason"])
    config.stash[OUTCOMES].update(results["outcomes"])
    verified = config.stash[VERIFIED]
    for job_id, ok in results["verified"].items():
        verified[job_id] = verified.get(job_id, True) and ok
    config.stash[RUN].versions.update(results["versions"])
    log.drawn.update(results.get("trends", {}))
    unreachable = config.stash[RUN].unreachable
    new = [reason for host, reason in results["unreachable"].items() if host not in unreachable]
    unreachable.update(results["unreachable"])
    return new


BY_HOST = "backup_drills_by_host"  # in a worker's input: every test of a host runs on it


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each worker whether hosts are scheduled as units (``-n`` alone: HostScheduling);
    xdist sets a worker's own ``--dist`` to "no"."""
    node.workerinput[BY_HOST] = node.config.getvalue("dist") == "load"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if is_worker(session.config) and RUN in session.config.stash:
        session.config.workeroutput[WORKER_OUTPUT] = worker_results(session.config)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    results = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if results is None:
        return
    config = node.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for reason in merge_results(config, results):
        if reporter is not None:
            reporter.write_line(f"UNREACHABLE {reason}", red=True, bold=True)
