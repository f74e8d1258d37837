"""Unit tests run the engine for real on this machine through testinfra's ``local://``."""

import pytest

from drills.inventory import Host
from drills.transport import Remote


@pytest.fixture
def local() -> Remote:
    return Remote(Host(name="runner", transport="local://"), timeout=60)
