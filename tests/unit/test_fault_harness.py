"""The fault tests' harness: what a module healed is proven once at its end, and that proof
must fail when one healed scenario does not pass again."""

import subprocess

import pytest

from tests.faults.conftest import Drill, Healed

CHECK = "features/repository.feature::test_restic_check_passes[flux-backup@motoko]"
FRESH = ("features/repository.feature::"
         "test_the_latest_snapshot_is_younger_than_the_rpo[flux-backup@motoko]")


class Answering(Drill):
    """A drill whose pytest answers with a given output (the harness, not a drill, under test)."""

    def __init__(self, tmp, code: int, output: str) -> None:
        super().__init__(tmp, healed=Healed())
        self.answer = subprocess.CompletedProcess([], code, output, "")
        self.asked: list[list[str]] = []

    def pytest(self, args, timeout, env=None):
        self.asked.append(args)
        return self.answer


def heal_twice(drill: Drill) -> None:
    drill.healed("test_restic_check_passes", "flux-backup@motoko")
    drill.healed("test_the_latest_snapshot_is_younger_than_the_rpo", "flux-backup@motoko")
    drill.healed("test_restic_check_passes", "flux-backup@motoko")  # once is enough


def test_the_healed_scenarios_of_a_module_are_drilled_once_in_one_run(tmp_path):
    drill = Answering(tmp_path, 0, "..\n2 passed in 3.1s\n")
    heal_twice(drill)
    assert drill.asked == []  # nothing runs before the module ends
    drill._healed.verify(drill)
    assert [args[:2] for args in drill.asked] == [[CHECK, FRESH]]


def test_a_healed_scenario_that_fails_again_fails_the_module_naming_it(tmp_path):
    drill = Answering(tmp_path, 1, f".F\nFAILED {FRESH} - AssertionError\n1 failed, 1 passed in 3.1s\n")
    heal_twice(drill)
    with pytest.raises(AssertionError, match=r"did not pass again") as caught:
        drill._healed.verify(drill)
    assert FRESH in str(caught.value).splitlines()[0]
