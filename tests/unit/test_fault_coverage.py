"""Every scenario of ``features/`` has a fault test: its test name is drilled in ``tests/faults/``
by a module that expects a failure (the handbook: each check is shown to bite), so a scenario
added without one fails here, not in review.

    >>> make_python_name("The newest dump is younger than the RPO")
    'the_newest_dump_is_younger_than_the_rpo'
"""

from pathlib import Path

from pytest_bdd.scenario import make_python_name

ROOT = Path(__file__).resolve().parents[2]


def scenario_tests() -> set[str]:
    """``test_<name>`` for every ``Scenario:`` line of the feature files."""
    return {f"test_{make_python_name(line.split(':', 1)[1].strip())}"
            for feature in (ROOT / "features").glob("*.feature")
            for line in feature.read_text().splitlines() if line.strip().startswith("Scenario:")}


def test_every_scenario_has_a_fault_test():
    faults = [p.read_text() for p in (ROOT / "tests/faults").glob("test_*.py")]
    biting = [text for text in faults if ".expect_failure(" in text]
    scenarios = scenario_tests()
    assert len(scenarios) >= 39
    uncovered = sorted(name for name in scenarios if not any(name in text for text in biting))
    assert not uncovered, f"scenarios without a fault test in tests/faults/: {uncovered}"
