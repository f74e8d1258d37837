"""Which tests a run holds: one test per (scenario, matching job). A scenario runs for the jobs
that have what its steps need (steps/plugin/needs.py); selector tags such as ``@restic`` or
``@timer`` narrow it further, any other tag is a marker for ``-m``. Test IDs name job and host,
so ``pytest features/ -k motoko`` drills one host and ``-k flux-backup`` one job. ``@writes``
scenarios of jobs that do not allow writes, and other shards' hosts, are left out.
"""

from __future__ import annotations

import gc
from collections.abc import Generator
from typing import Any

import pytest
from pytest_bdd.parser import ScenarioTemplate
from pytest_bdd.scenario import scenario_wrapper_template_registry

from backup_drills.core.shards import assign, parse_shard
from backup_drills.inventory.schema import Inventory, Job
from backup_drills.steps.plugin.needs import MARKERS, SELECTORS, selector_help, steps_need
from backup_drills.steps.plugin.options import RUN, cycles_kept

_CONFIG: list[pytest.Config] = []  # the running config, for pytest-bdd's config-less tag hook


def register_markers(config: pytest.Config) -> None:
    """The suite's markers and selector tags, for ``-m`` and ``--strict-markers``; and the
    running config, for the tags a feature file brings (``pytest_bdd_apply_tag``)."""
    _CONFIG[:] = [config]
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    for selector in SELECTORS:
        config.addinivalue_line("markers", f"{selector}: {selector_help(selector)}")


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """Collect without cyclic garbage collection, then move what collection built (the
    inventory, every test item) out of the collector's reach: it lives as long as the run, and
    a worker's later collections no longer walk it (``gc.freeze``)."""
    with cycles_kept():
        result = yield
    gc.freeze()
    return result


TAG_MARKERS = {"runbook": "runbook", "severity": "severity", "control": "control"}


SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")


@pytest.hookimpl(tryfirst=True)  # before pytest-bdd's own, whatever order the plugins loaded in
def pytest_bdd_apply_tag(tag: str, function: Any) -> bool | None:
    """``@runbook:<anchor>``, ``@severity:<level>``, ``@control:<id>``: markers with a value
    (for ``-m runbook``, ``-m control``) that the report turns into links and labels. Any other
    tag a user writes (``@weekly``, ``@team-db``) becomes a marker of its own, usable with -m."""
    name, colon, value = tag.partition(":")
    if not colon or name not in TAG_MARKERS:
        if _CONFIG and tag not in MARKERS and tag not in SELECTORS:
            _CONFIG[0].addinivalue_line("markers", f"{tag}: a tag of a feature file")
        return None
    if name == "severity" and value not in SEVERITIES:
        raise ValueError(f"tag @{tag}: expected a severity among {', '.join(SEVERITIES)}")
    getattr(pytest.mark, TAG_MARKERS[name])(value)(function)
    return True


class Selection:
    """The inventory's jobs by selector: each selector's jobs are worked out once per run (one
    pass over the jobs), kept as a set of the jobs' identities, so a scenario's jobs cost one
    set lookup per job and selector, never a comparison of two jobs' models. The scenarios that
    ask the same selectors (most of a feature's) share one list of jobs and of test IDs.

    >>> Selection(Inventory(name="none", hosts={}, jobs={})).jobs({"restic", "timer"})
    []
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._chosen: dict[str, frozenset[int]] = {}  # selector -> id() of its jobs
        self._asked: dict[frozenset[str], tuple[list[Job], list[str]]] = {}  # selectors -> jobs, IDs
        self._ids: dict[int, str] = {}  # id() of a job -> its test ID, built once

    def chosen(self, selector: str) -> frozenset[int]:
        if selector not in self._chosen:
            how, value = SELECTORS[selector]
            self._chosen[selector] = frozenset(map(id, self.inventory.jobs_for(**{how: value})))
        return self._chosen[selector]

    def jobs(self, selectors: set[str]) -> list[Job]:
        """The jobs that have what every selector names, in the inventory's order."""
        return list(self.jobs_and_ids(selectors)[0])

    def jobs_and_ids(self, selectors: set[str]) -> tuple[list[Job], list[str]]:
        """The jobs as ``jobs`` gives them, and their test IDs (``flux-backup@motoko``); the
        same two lists for every scenario that asks the same selectors (not to be changed)."""
        asked = frozenset(selectors & SELECTORS.keys())
        if asked not in self._asked:
            everyone = self.inventory.jobs.values()
            if asked:
                kept = frozenset.intersection(*(self.chosen(name) for name in asked))
                jobs = [job for job in everyone if id(job) in kept]
            else:
                jobs = list(everyone)
            self._asked[asked] = (jobs, [self.test_id(job) for job in jobs])
        return self._asked[asked]

    def test_id(self, job: Job) -> str:
        """``job.id``, built once per job however many scenarios drill it."""
        found = self._ids.get(id(job))
        if found is None:
            found = self._ids[id(job)] = job.id
        return found


SELECTION = pytest.StashKey[Selection]()


def matching_jobs(inventory: Inventory, selectors: set[str]) -> list[Job]:
    """The jobs a scenario runs against: those that have what every selector names (its tags
    and what its steps need). A run reuses one ``Selection``; this builds a fresh one."""
    return Selection(inventory).jobs(selectors)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "job" not in metafunc.fixturenames:
        return
    names = {mark.name for mark in metafunc.definition.iter_markers()}
    template = scenario_template(metafunc.definition)
    needed = steps_need(template) if template is not None else set()
    config = metafunc.config
    if SELECTION not in config.stash:
        config.stash[SELECTION] = Selection(config.stash[RUN].inventory)
    jobs, ids = config.stash[SELECTION].jobs_and_ids(names | needed)
    metafunc.parametrize("job", jobs, ids=ids)


NOT_APPLICABLE = pytest.StashKey[list[str]]()


WRITES_NOT_ALLOWED = "writes not allowed"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scenarios that apply to no job of the inventory are left out quietly (one summary line,
    not one skip each), and so are ``@writes`` scenarios (canaries, on-demand backups) of jobs
    that do not declare ``writes: allowed`` when ``--allow-writes`` is not given: the evidence
    names them as not run, neither verified nor failed. Observe first, then act: the
    ``@writes`` scenarios that do run come after every other scenario, so on each host the
    estate is read and restored as found before the drill adds a snapshot (and the estate's
    own prune removes one). Stable otherwise."""
    idle = [item for item in items if job_of(item) is None and scenario_template(item) is not None]
    leave_out(config, items, idle)
    config.stash[NOT_APPLICABLE] = [item.nodeid.split("[")[0] for item in idle]
    if config.getoption("shard"):
        _keep_shard(config, items)
    writing = marked_writes(items)
    refused = [] if config.getoption("allow_writes") else [  # writes_refused, the marker read once
        item for item in items if id(item) in writing
        and (job := job_of(item)) is not None and job.writes != "allowed"]
    leave_out(config, items, refused)
    for item in refused:
        job = job_of(item)
        if job is not None:  # always: only a job's scenario is refused
            config.stash[RUN].evidence.left_out(job.id, _title(item), WRITES_NOT_ALLOWED)
    items.sort(key=lambda item: id(item) in writing)


def marked_writes(items: list[pytest.Item]) -> set[int]:
    """The ``id()`` of each item marked ``@writes``, the marker looked up once per scenario
    (the tests of one scenario, one per job, share its markers), not once per test."""
    by_scenario: dict[tuple[int, str], bool] = {}
    found = set()
    for item in items:
        scenario = (id(item.parent), getattr(item, "originalname", item.name))
        if scenario not in by_scenario:
            by_scenario[scenario] = item.get_closest_marker("writes") is not None
        if by_scenario[scenario]:
            found.add(id(item))
    return found


def leave_out(config: pytest.Config, items: list[pytest.Item], chosen: list[pytest.Item]) -> None:
    """Deselect ``chosen`` from ``items`` (pytest counts them as deselected, never as run)."""
    if chosen:
        config.hook.pytest_deselected(items=chosen)
        gone = {id(item) for item in chosen}
        items[:] = [item for item in items if id(item) not in gone]


def writes_refused(item: pytest.Item) -> bool:
    """True for a ``@writes`` scenario of a job that does not declare ``writes: allowed``, in a
    run without ``--allow-writes``: the drill must not write to that job's estate."""
    job = job_of(item)
    return (job is not None and item.get_closest_marker("writes") is not None
            and job.writes != "allowed" and not item.config.getoption("allow_writes"))


def _title(item: pytest.Item) -> str:
    template = scenario_template(item)
    return str(template.name) if template is not None else item.name


SHARD_HOSTS = pytest.StashKey[str]()


def _keep_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the scenarios of hosts in other shards (``--shard i/n``)."""
    try:
        index, count = parse_shard(str(config.getoption("shard")))
    except ValueError as exc:
        raise pytest.UsageError(f"--shard: {exc}") from None
    inventory, log = config.stash[RUN].inventory, config.stash[RUN].evidence
    jobs_by_host: dict[str, list[str]] = {host: [] for host in inventory.hosts}
    for job in inventory.jobs.values():
        jobs_by_host[job.host].append(job.id)
    past = {job.id: points[-1].restore_seconds for job in inventory.jobs.values()
            if (points := log.past(job.id)) and points[-1].restore_seconds is not None}
    chosen = assign(jobs_by_host, count, past)
    mine = sorted(host for host, shard in chosen.items() if shard == index)
    kept = set(mine)
    leave_out(config, items, [item for item in items
                               if (drilled := job_of(item)) is not None and drilled.host not in kept])
    log.shard = f"{index}/{count}"
    how = "balanced by past drill times" if past else "balanced by job count: no history yet"
    config.stash[SHARD_HOSTS] = f"shard {index}/{count} ({how}): hosts {', '.join(mine) or 'none'}"


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    lines = []
    idle = config.stash.get(NOT_APPLICABLE, [])
    if idle:
        lines.append(f"{len(idle)} scenario(s) apply to no job of inventory "
                     f"{config.stash[RUN].inventory.name} (nothing it declares needs them): left out")
    if SHARD_HOSTS in config.stash:
        lines.append(config.stash[SHARD_HOSTS])
    return lines


def job_of(item: pytest.Item) -> Job | None:
    """The inventory job a collected test drills, if any."""
    callspec = getattr(item, "callspec", None)
    job = callspec.params.get("job") if callspec is not None else None
    return job if type(job) is Job or isinstance(job, Job) else None  # the type first: cheaper


def scenario_template(item: pytest.Item) -> ScenarioTemplate | None:
    """The Gherkin scenario (name, steps, feature file) a pytest-bdd test runs, if any."""
    function = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
    return scenario_wrapper_template_registry.get(function)  # type: ignore[arg-type]
