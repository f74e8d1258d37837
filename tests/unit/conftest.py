"""Unit tests run the engine for real on this machine through testinfra's ``local://``."""

import pytest

from drills.inventory import Host
from drills.observe import FOUND
from drills.transport import Remote


@pytest.fixture
def local() -> Remote:
    return Remote(Host(name="runner", transport="local://"), timeout=60)


@pytest.fixture(autouse=True)
def nothing_found_yet() -> None:
    """Each test reads its own estate: what an earlier test found is forgotten."""
    FOUND.clear()
