"""Unit tests run the engine for real on this machine through testinfra's ``local://``."""

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
