"""The fixtures steps take: ``drill`` (the run, ``backup_drills.core.run.DrillRun``), ``inventory``,
``evidence`` and ``remote`` (the job's host, reached within the run; a host that did not answer
the probe errors at once, naming it), the Allure labels of a job's scenario, and the recording
of what each ``require``'d verdict measured for the scenario's job (``records_for_job``).

    @then("the job's bucket keeps object versions")
    def _(job: Job, drill: DrillRun) -> None:
        require(versioned(drill.buckets, job))
"""

from __future__ import annotations

from collections.abc import Iterator

import allure
import pytest

from backup_drills.core.run import DrillRun
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.evidence.log import EvidenceLog
from backup_drills.inventory.schema import Inventory, Job
from backup_drills.outcomes import recording
from backup_drills.steps.plugin.options import RUN


@pytest.fixture(scope="session")
def drill(pytestconfig: pytest.Config) -> DrillRun:
    """The run: what it found, its buckets as found, its evidence (``backup_drills.core.run``)."""
    return pytestconfig.stash[RUN]


@pytest.fixture(scope="session")
def inventory(pytestconfig: pytest.Config) -> Inventory:
    return pytestconfig.stash[RUN].inventory


@pytest.fixture(scope="session")
def evidence(pytestconfig: pytest.Config) -> EvidenceLog:
    return pytestconfig.stash[RUN].evidence


@pytest.fixture(autouse=True)
def records_for_job(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every verdict a scenario of a job ``require``s is recorded in the run's evidence for that
    job, whichever step judged it (no step chooses what is kept)."""
    job = getattr(getattr(request.node, "callspec", None), "params", {}).get("job")
    if not isinstance(job, Job) or RUN not in request.config.stash:
        yield
        return
    with recording(job.id, request.config.stash[RUN].evidence):
        yield


@pytest.fixture
def remote(job: Job, inventory: Inventory, request: pytest.FixtureRequest) -> Remote:
    """The job's host; a host that did not answer the probe errors at once, naming it."""
    label_report(request.node, job, inventory)
    reason = request.config.stash[RUN].unreachable.get(job.host)
    if reason is not None:
        raise DrillCouldNotRun(f"job {job.name}: {reason}")
    return request.config.stash[RUN].remote(job.host, timeout=request.config.getoption("remote_timeout"))


def label_report(node: pytest.Item, job: Job, inventory: Inventory) -> None:
    """Allure: epic = runbook, story = job, host and job as parameters, severity, runbook
    section links and compliance controls from the scenario's tags."""
    runbook = job.runbook or inventory.runbook
    allure.dynamic.epic(runbook.title if runbook else inventory.description or inventory.name)
    allure.dynamic.story(job.name)
    allure.dynamic.parameter("host", job.host)
    for mark in node.iter_markers("severity"):
        allure.dynamic.severity(allure.severity_level(mark.args[0]))
    for mark in node.iter_markers("runbook"):
        url = runbook.section(mark.args[0]) if runbook else f"#{mark.args[0]}"
        allure.dynamic.link(url, name=f"runbook: {mark.args[0]}")
    for mark in node.iter_markers("control"):
        allure.dynamic.label("control", mark.args[0])
