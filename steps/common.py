"""Steps shared by every feature."""

from __future__ import annotations

from pytest_bdd import given

from drills.transport import Remote


@given("the job's host answers")
def _(remote: Remote) -> None:
    """The host answered the up-front probe; else the scenario reports it unreachable, by name."""
