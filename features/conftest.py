"""Every scenario here drills one job: ``job`` is parametrized per matching job of the
inventory (see steps/plugin.py), which this autouse fixture puts in each test's closure."""

import pytest

from drills.inventory import Job


@pytest.fixture(autouse=True)
def _drilled_job(job: Job) -> Job:
    return job
