"""Selection of a scenario's jobs is linear in the inventory's jobs: counted, not timed (speed
is measured in bench/collect.py, never in a timed test)."""

import copy
import sys
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from backup_drills.inventory.schema import Inventory, Job, load_inventory
from backup_drills.steps.plugin.needs import SELECTORS
from backup_drills.steps.plugin.probing import drilled_by_host
from backup_drills.steps.plugin.selection import Selection, matching_jobs

LAB = Path(__file__).resolve().parents[2] / "inventory" / "lab.yml"


def lab_times(copies: int, folder: Path) -> Inventory:
    """The lab's inventory with every host and job repeated ``copies`` times (all its kinds and
    optional parts, so each selector chooses some jobs and leaves out others)."""
    lab = yaml.safe_load(LAB.read_text())
    doc = {key: value for key, value in lab.items() if key not in ("hosts", "jobs")}
    doc["hosts"] = {f"{host}-{i}": spec for i in range(copies) for host, spec in lab["hosts"].items()}
    doc["jobs"] = {f"{name}-{i}": {**copy.deepcopy(job), "host": f"{job['host']}-{i}"}
                   for i in range(copies) for name, job in lab["jobs"].items()}
    path = folder / f"lab-{copies}.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_inventory(path)


# what the features' scenarios ask: each selector alone, and every pair of them
ASKED = [{name} for name in SELECTORS] + [set(pair) for pair in combinations(sorted(SELECTORS), 2)]


def calls_to_select(inventory: Inventory) -> int:
    """Python and C function calls made selecting the jobs of every set in ASKED, as one run
    does (one Selection for all its scenarios)."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        selection = Selection(inventory)
        for selectors in ASKED:
            selection.jobs(selectors)
    finally:
        sys.setprofile(None)
    return calls


def test_selecting_four_times_the_jobs_costs_four_times_the_calls(tmp_path):
    small, large = lab_times(20, tmp_path), lab_times(80, tmp_path)
    assert len(large.jobs) == 4 * len(small.jobs) > 1000
    ratio = calls_to_select(large) / calls_to_select(small)
    assert 3.5 < ratio < 4.4, f"{ratio:.2f}x the calls for 4x the jobs: not linear"  # quadratic: 16x


def test_no_two_jobs_are_ever_compared(tmp_path, monkeypatch):
    inventory = lab_times(10, tmp_path)
    compared = []
    monkeypatch.setattr(Job, "__eq__", lambda self, other: compared.append(1) or self is other)
    selection = Selection(inventory)
    chosen = [selection.jobs(selectors) for selectors in ASKED]
    assert compared == []
    assert sum(map(len, chosen)) > len(inventory.jobs)  # it did choose jobs


def test_each_selector_reads_the_jobs_once_however_many_scenarios_ask(tmp_path, monkeypatch):
    inventory = lab_times(3, tmp_path)
    asked = []
    jobs_for = Inventory.jobs_for
    monkeypatch.setattr(Inventory, "jobs_for", lambda self, **how: asked.append(how) or jobs_for(self, **how))
    selection = Selection(inventory)
    for _ in range(50):  # fifty scenarios
        selection.jobs({"restic", "timer"})
    assert sorted(map(str, asked)) == ["{'kind': 'restic'}", "{'needs': 'schedule'}"]


def test_the_chosen_jobs_are_those_every_selector_names_in_the_inventory_order(tmp_path):
    inventory = lab_times(2, tmp_path)
    for selectors in ASKED:
        expected = list(inventory.jobs.values())
        for name in selectors:
            how, value = SELECTORS[name]
            named = {job.id for job in inventory.jobs_for(**{how: value})}
            expected = [job for job in expected if job.id in named]
        assert [job.id for job in matching_jobs(inventory, selectors)] == [job.id for job in expected]


def test_the_jobs_of_each_host_among_the_tests_are_indexed_once(tmp_path):
    inventory = lab_times(2, tmp_path)
    jobs = list(inventory.jobs.values())
    items = [SimpleNamespace(callspec=SimpleNamespace(params={"job": job})) for job in jobs for _ in range(3)]
    config = SimpleNamespace(stash=pytest.Stash())
    by_host = drilled_by_host(config, items)
    assert by_host["motoko-1"] == [job for job in jobs if job.host == "motoko-1"]  # each job once
    assert sum(map(len, by_host.values())) == len(jobs)
    items.clear()  # the same list: the index is reused, not rebuilt
    assert drilled_by_host(config, items) is by_host
