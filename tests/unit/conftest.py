"""Unit tests run the engine for real on this machine through testinfra's ``local://``."""

import os
from collections.abc import Iterator

import pytest

from backup_drills.core import secrets
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Host


@pytest.fixture
def local() -> Remote:
    return Remote(Host(name="runner", transport="local://"), timeout=60)


@pytest.fixture(autouse=True)
def nothing_found_yet() -> None:
    """Each test reads its own estate (each ``Remote`` made outside a drill has a run of its
    own): the secrets an earlier test registered for masking are forgotten."""
    secrets.forget()


@pytest.fixture(scope="session", autouse=True)
def drills_without_hypothesis() -> Iterator[None]:
    """The drills these tests start (``pytest features/``, ``backup-drills run``) load no
    property-testing plugin: a dev tool an operator's install lacks, and about 1 s of imports in
    each of the suite's hundred-odd pytest processes. Set once the workers run, so the unit tests'
    own ``@given`` keep the plugin."""
    with pytest.MonkeyPatch.context() as env:
        extra = os.environ.get("PYTEST_ADDOPTS", "")
        env.setenv("PYTEST_ADDOPTS", f"{extra} -p no:hypothesispytest".strip())
        yield
