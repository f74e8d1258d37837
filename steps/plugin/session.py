"""The suite's pytest plugin: ``--drill-inventory``, one test per (scenario, matching job), host
reachability up front, scratch sweeping, evidence and the closing summary.

A scenario runs for the jobs that have what its steps need (steps/plugin/needs.py); selector tags such
as ``@restic`` or ``@timer`` narrow it further, any other tag is a marker for ``-m``. Test IDs name
job and host, so ``pytest features/ -k motoko`` drills one host and ``-k flux-backup`` one job.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import allure
import pytest
from pytest_bdd.parser import ScenarioTemplate
from pytest_bdd.scenario import scenario_wrapper_template_registry

from drills.adapters.tool import tool_class
from drills.core import transport
from drills.core.backends import PROBE_LIMIT, probe_all
from drills.core.clock import read_clock
from drills.core.run import DrillRun
from drills.core.shards import assign, parse_shard
from drills.core.tools import tool_versions
from drills.core.transport import DrillCouldNotRun, Remote
from drills.evidence.log import EvidenceLog
from drills.inventory.schema import Inventory, InventoryError, Job, load_inventory
from drills.restores.scratch import sweep
from drills.restores.trees import sweep_canaries
from steps.plugin.needs import MARKERS, SELECTORS, selector_help, steps_need

RUN = pytest.StashKey[DrillRun]()  # the run's one state (drills.core.run), while pytest runs
DRILLING = pytest.StashKey[bool]()
LAB_HINT = "is the lab up? `make lab-up` (or `drill-lab up` in the virtualenv) starts it"
LAB_INVENTORY = "inventory/lab.yml"  # a checkout's default
_CONFIG: list[pytest.Config] = []  # the running config, for pytest-bdd's config-less tag hook
# every drill option may also come from the environment (BACKUP_DRILLS_<NAME>) or the ini file
# (drill_<name>), in that order after the command line
SETTINGS: dict[str, tuple[type, Any]] = {
    "inventory": (str, None), "remote_timeout": (float, 30.0), "probe_timeout": (float, PROBE_LIMIT),
    "evidence_dir": (str, "reports/evidence"), "sign_evidence": (str, None),
    "prometheus_textfile": (str, None), "waivers": (str, None), "shard": (str, None),
    "progress_every": (float, 30.0)}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backup drills")
    group.addoption("--drill-inventory", dest="inventory", default=None, metavar="FILE",
                    help="inventory of hosts and jobs to drill (in a checkout: inventory/lab.yml); "
                         "also --inventory FILE, where no other plugin (pytest-ansible) takes it")
    group.addoption("--remote-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds any single remote command may take before it is killed, "
                         "except restores and checks, which have their own (default: 30)")
    group.addoption("--probe-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds the up-front probe of each repository and bucket may take "
                         f"before its scenarios are COULD NOT RUN (default: {PROBE_LIMIT:.0f})")
    group.addoption("--progress-every", type=float, default=None, metavar="SECONDS",
                    help="seconds between the progress lines of a long remote command (a "
                         "restore says how much it has written; default: 30)")
    group.addoption("--evidence-dir", default=None, metavar="DIR",
                    help="where evidence JSON is written (default: reports/evidence)")
    group.addoption("--allow-writes", action="store_true", default=False,
                    help="run the @writes scenarios (a canary planted, an on-demand backup) for "
                         "every job, not only for the jobs that declare `writes: allowed`")
    group.addoption("--shard", default=None, metavar="I/N",
                    help="drill the hosts of the i-th of n parts (every job of a host in the same "
                         "part; balanced by past drill times); merge the parts with "
                         "`backup-drills merge`")
    for name in SETTINGS:
        flag = "--drill-inventory" if name == "inventory" else f"--{name.replace('_', '-')}"
        parser.addini(f"drill_{name}", f"{flag}, unless given on the command "
                                       f"line or as BACKUP_DRILLS_{name.upper()}", default="")


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(parser: pytest.Parser) -> Generator[None, object, object]:
    """``--inventory``, the old spelling of ``--drill-inventory``, once every installed plugin and
    the initial conftest files have registered their options, and only when none took it:
    pytest-ansible's ``--inventory`` is its own, and registering ours too would stop pytest at
    start ("conflicting option string")."""
    result = yield
    group = parser.getgroup("backup drills")
    try:
        group.addoption("--inventory", dest="inventory", default=None, metavar="FILE",
                        help="the old spelling of --drill-inventory")
        parser.parse_known_args([])  # pytest 8 builds its argparse parser here: a clash shows now
    except (argparse.ArgumentError, ValueError):
        group.options[:] = [option for option in group.options if "--inventory" not in option.names()]
    return result


def resolve_settings(config: pytest.Config) -> None:
    """Each drill option from the command line, else ``BACKUP_DRILLS_<NAME>``, else the ini
    file's ``drill_<name>`` (paths relative to the ini file), else its default."""
    for name, (kind, default) in SETTINGS.items():
        if getattr(config.option, name, None) is not None:
            continue
        where, value = f"BACKUP_DRILLS_{name.upper()}", os.environ.get(f"BACKUP_DRILLS_{name.upper()}")
        if not value:
            where, value = f"ini option drill_{name}", str(config.getini(f"drill_{name}") or "")
            if value and kind is str and config.inipath is not None:
                value = str(config.inipath.parent / value)
        if not value:
            setattr(config.option, name, default)
            continue
        try:
            setattr(config.option, name, kind(value))
        except ValueError:
            raise pytest.UsageError(f"{where}: expected a number of seconds, got {value!r}") from None


def inventory_path(config: pytest.Config) -> Path | None:
    """The inventory to drill: as configured, else a checkout's inventory/lab.yml, else none."""
    chosen = config.getoption("inventory")
    if chosen:
        path = Path(chosen).expanduser()
        return path if path.is_absolute() else config.invocation_params.dir / path
    lab = config.rootpath / LAB_INVENTORY
    return lab if lab.exists() else None


def drills_features(config: pytest.Config) -> bool:
    """True when the run collects Gherkin features (a ``.feature`` file, or a folder holding
    one), so it is a drill with reports, not a run of other tests."""
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        path = path if path.is_absolute() else config.invocation_params.dir / path
        if path.suffix == ".feature" or (path.is_dir() and _holds_features(path)):
            return True
    return False


def _holds_features(folder: Path) -> bool:
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d not in _NOT_FEATURES]
        if any(name.endswith(".feature") for name in files):
            return True
    return False


_NOT_FEATURES = {"node_modules", "site-packages", "venv", "reports", "build", "dist"}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _CONFIG[:] = [config]
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    for selector in SELECTORS:
        config.addinivalue_line("markers", f"{selector}: {selector_help(selector)}")
    resolve_settings(config)
    transport.PROGRESS_EVERY = config.option.progress_every
    if config.option.verbose >= 2 and config.getoption("log_cli_level", None) is None:
        config.option.log_cli_level = "INFO"  # -vv: a live line per job, step and long command
    drilling = drills_features(config)
    collecting = bool(config.option.collectonly)
    if drilling and not collecting and getattr(config.option, "allure_report_dir", "unset") is None:
        config.option.allure_report_dir = str(config.invocation_params.dir / "reports/allure-results")
        # one run per report (trends come from its history); cleaned once, not by each worker
        config.option.clean_alluredir = not is_worker(config)
    path = inventory_path(config)
    if path is None and drilling:
        raise pytest.UsageError("no inventory to drill: pass --inventory FILE (--drill-inventory FILE "
                                "beside a plugin that takes --inventory, such as pytest-ansible), or "
                                "set BACKUP_DRILLS_INVENTORY, or drill_inventory in pytest's ini file")
    try:
        with cycles_kept():
            inventory = (load_inventory(path) if path is not None
                         else Inventory(name="none", hosts={}, jobs={}))
    except InventoryError as exc:
        raise pytest.UsageError(f"invalid inventory, no host was touched:\n{exc}") from None
    reads_history = drilling and not collecting
    config.stash[RUN] = DrillRun(  # a new run: nothing found, measured or probed yet
        inventory=inventory,
        evidence=EvidenceLog(history_dir=evidence_dir(config) if reads_history else None))
    config.stash[DRILLING] = drilling and not collecting


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run ends: its state goes with it (after every plugin wrote its outputs)."""
    if RUN in config.stash:
        del config.stash[RUN]


@contextmanager
def cycles_kept() -> Iterator[None]:
    """No cyclic garbage collection inside: reading a fleet's inventory and collecting its tests
    allocate millions of objects that all live on, and each collection of the oldest generation
    walks all of them again (50,000 jobs: three times the CPU of the reading itself). Nothing
    is lost: the collector runs again after, at its own thresholds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """Collect without cyclic garbage collection, then move what collection built (the
    inventory, every test item) out of the collector's reach: it lives as long as the run, and
    a worker's later collections no longer walk it (``gc.freeze``)."""
    with cycles_kept():
        result = yield
    gc.freeze()
    return result


LOG = logging.getLogger("drills.drill")  # a line per job, scenario and step


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    job = job_of(request.node)
    LOG.info("%s: scenario %s", job.id if job else "-", scenario.name)


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                           step_func: Any) -> None:
    job = job_of(request.node)
    LOG.info("%s: %s %s", job.id if job else "-", step.keyword, step.name)


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: Exception) -> None:
    """A failure that quotes a tool's lines (``drills.core.tool_errors``) attaches its full output."""
    output = getattr(exception, "output", None)
    if isinstance(output, str) and output.strip():
        allure.attach(output, name="the tool's full output", attachment_type=allure.attachment_type.TEXT)


def evidence_dir(config: pytest.Config) -> Path:
    """``--evidence-dir``, relative to where pytest was started unless absolute."""
    return config.invocation_params.dir / Path(config.getoption("evidence_dir")).expanduser()


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
    set lookup per job and selector, never a comparison of two jobs' models.

    >>> Selection(Inventory(name="none", hosts={}, jobs={})).jobs({"restic", "timer"})
    []
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._chosen: dict[str, frozenset[int]] = {}  # selector -> id() of its jobs

    def chosen(self, selector: str) -> frozenset[int]:
        if selector not in self._chosen:
            how, value = SELECTORS[selector]
            self._chosen[selector] = frozenset(map(id, self.inventory.jobs_for(**{how: value})))
        return self._chosen[selector]

    def jobs(self, selectors: set[str]) -> list[Job]:
        """The jobs that have what every selector names, in the inventory's order."""
        sets = [self.chosen(name) for name in selectors & SELECTORS.keys()]
        if not sets:
            return list(self.inventory.jobs.values())
        kept = frozenset.intersection(*sets)
        return [job for job in self.inventory.jobs.values() if id(job) in kept]


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
    jobs = config.stash[SELECTION].jobs(names | needed)
    metafunc.parametrize("job", jobs, ids=[job.id for job in jobs])


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
    refused = [item for item in items if id(item) in writing and writes_refused(item)]
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
    job = getattr(getattr(item, "callspec", None), "params", {}).get("job")
    return job if isinstance(job, Job) else None


def scenario_template(item: pytest.Item) -> ScenarioTemplate | None:
    """The Gherkin scenario (name, steps, feature file) a pytest-bdd test runs, if any."""
    function = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
    return scenario_wrapper_template_registry.get(function)  # type: ignore[arg-type]


def _hosts_of(items: list[pytest.Item]) -> set[str]:
    return {job.host for job in map(job_of, items) if job is not None}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Probe every host the selected tests need, in parallel, before the first drill. An xdist
    worker instead probes each of its own hosts before that host's first test
    (``pytest_runtest_setup``): every host once, by the worker that drills it, not by all."""
    config = session.config
    if config.option.collectonly:
        return
    if not is_worker(config):
        probe_hosts(config, sorted(_hosts_of(session.items)), session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    job = job_of(item)
    if job is not None and is_worker(item.config) and job.host not in item.config.stash[RUN].probed:
        probe_hosts(item.config, [job.host], item.session.items)


DRILLED = pytest.StashKey[tuple[int, dict[str, list[Job]]]]()
HOST_JOBS = pytest.StashKey[dict[str, list[Job]]]()


def drilled_by_host(config: pytest.Config, items: list[pytest.Item]) -> dict[str, list[Job]]:
    """Each host's jobs among ``items`` (each job once), worked out once per run: a worker
    probes its hosts one at a time, and a scan of every item for each would be quadratic."""
    known = config.stash.get(DRILLED, None)
    if known is not None and known[0] == id(items):
        return known[1]
    seen: set[int] = set()
    found: dict[str, list[Job]] = {}
    for job in map(job_of, items):
        if job is not None and id(job) not in seen:
            seen.add(id(job))
            found.setdefault(job.host, []).append(job)
    config.stash[DRILLED] = (id(items), found)
    return found


def jobs_of_host(config: pytest.Config, host: str) -> list[Job]:
    """Every job of the inventory on ``host`` (drilled or not), from an index built once."""
    if HOST_JOBS not in config.stash:
        index: dict[str, list[Job]] = {}
        for job in config.stash[RUN].inventory.jobs.values():
            index.setdefault(job.host, []).append(job)
        config.stash[HOST_JOBS] = index
    return config.stash[HOST_JOBS].get(host, [])


def probe_hosts(config: pytest.Config, hosts: list[str], items: list[pytest.Item]) -> None:
    """Probe ``hosts`` (reachable, clock, sweep, tool versions, backends) and read the buckets
    of their jobs among ``items``, in parallel; name what did not answer."""
    if not hosts:
        return
    run = config.stash[RUN]
    run.probed.update(hosts)
    inventory = run.inventory
    by_host = drilled_by_host(config, items)
    drilled = {job.id: job for host in hosts for job in by_host.get(host, [])}
    on_host = {name: jobs_of_host(config, name) for name in hosts}

    def probe(name: str) -> tuple[str, str | None, dict[str, str]]:
        remote = run.remote(name, timeout=config.getoption("remote_timeout"))
        reason = remote.probe()
        if reason is not None:
            return name, reason, {}
        try:
            read_clock(remote)  # the skew at drill start
            sweep(remote)
            # a killed run's canaries, only where writes are allowed: a read-only drill never
            # touches a source (a leftover waits for the next run that may write there)
            sweep_canaries(remote, [j for j in on_host[name]
                                    if j.writes == "allowed" or config.getoption("allow_writes")])
            config.stash[RUN].versions[name] = tool_versions(remote)
        except DrillCouldNotRun as exc:
            return name, str(exc), {}
        jobs = by_host.get(name, [])
        for index, job in enumerate(jobs):  # a kind that reads its job from the host: borgmatic's
            read_job = getattr(tool_class(job), "read_job", None)
            if read_job is None:
                continue
            try:  # a copy of the job, read from the host, for its scenarios
                jobs[index] = read_job(remote, job)
            except DrillCouldNotRun:
                continue  # unread: the job's tool reads it again in each scenario, and names why
            for item in (i for i in items if (found := job_of(i)) is not None and found.id == job.id):
                item.callspec.params["job"] = jobs[index]  # type: ignore[attr-defined]
        return name, None, probe_all(remote, jobs, config.getoption("probe_timeout"))

    with ThreadPoolExecutor(max_workers=min(16, len(hosts) + 1)) as pool:
        buckets = pool.submit(run.buckets.read, list(drilled.values()))  # beside the hosts
        results = list(pool.map(probe, hosts))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for finding in buckets.result().values():
        if reporter is not None:
            reporter.write_line(f"COULD NOT RUN {finding}", red=True, bold=True)
    for name, reason, backends_down in results:
        if reason is not None:
            config.stash[RUN].unreachable[name] = reason
            hint = f"; {LAB_HINT}" if inventory.name == "lab" else ""
            if reporter is not None:
                reporter.write_line(f"UNREACHABLE {reason}{hint}", red=True, bold=True)
        for finding in backends_down.values():
            if reporter is not None:
                reporter.write_line(f"COULD NOT RUN host {name}: {finding}", red=True, bold=True)


@pytest.fixture(scope="session")
def drill(pytestconfig: pytest.Config) -> DrillRun:
    """The run: what it found, its buckets as found, its evidence (``drills.core.run``)."""
    return pytestconfig.stash[RUN]


@pytest.fixture(scope="session")
def inventory(pytestconfig: pytest.Config) -> Inventory:
    return pytestconfig.stash[RUN].inventory


@pytest.fixture(scope="session")
def evidence(pytestconfig: pytest.Config) -> EvidenceLog:
    return pytestconfig.stash[RUN].evidence


@pytest.fixture
def remote(job: Job, inventory: Inventory, request: pytest.FixtureRequest) -> Remote:
    """The job's host; a host that did not answer the probe errors at once, naming it."""
    label_report(request.node, job, inventory)
    reason = request.config.stash[RUN].unreachable.get(job.host)
    if reason is not None:
        raise DrillCouldNotRun(f"job {job.name}: {reason}")
    return request.config.stash[RUN].remote(job.host, timeout=request.config.getoption("remote_timeout"))


def label_report(node: pytest.Item, job: Job, inventory: Inventory) -> None:
    """Allure: epic = runbook, story = job, host and job as parameters, severity, runbook
    section links and compliance controls from the scenario's tags."""
    runbook = job.runbook or inventory.runbook
    allure.dynamic.epic(runbook.title if runbook else inventory.description or inventory.name)
    allure.dynamic.story(job.name)
    allure.dynamic.parameter("host", job.host)
    for mark in node.iter_markers("severity"):
        allure.dynamic.severity(allure.severity_level(mark.args[0]))
    for mark in node.iter_markers("runbook"):
        url = runbook.section(mark.args[0]) if runbook else f"#{mark.args[0]}"
        allure.dynamic.link(url, name=f"runbook: {mark.args[0]}")
    for mark in node.iter_markers("control"):
        allure.dynamic.label("control", mark.args[0])


def is_worker(config: pytest.Config) -> bool:
    """True inside a pytest-xdist worker: its results go to the controller (steps/plugin/parallel.py),
    which writes the run's outputs once."""
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    log = run.evidence if run is not None else None
    if log is not None and (log.jobs or log.scenarios) and not is_worker(session.config):
        log.write(evidence_dir(session.config))  # its manifest, signed: steps/plugin/reporting.py


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    log = run.evidence if run is not None else None
    lines = log.summary_lines() if log is not None else []
    if lines:
        terminalreporter.section("drill evidence: restore time (RTO) and data age (RPO)")
        for line in lines:
            terminalreporter.write_line(line)
    not_run = writes_not_run_line(log) if log is not None else None
    if not_run is not None:
        terminalreporter.write_sep("=", not_run, yellow=True)


def writes_not_run_line(log: EvidenceLog) -> str | None:
    """The one line that says how many ``@writes`` scenarios the run left out, and how to allow
    them; None when it left none out.

    >>> log = EvidenceLog()
    >>> log.left_out("flux-backup@motoko", "A canary ...", WRITES_NOT_ALLOWED)
    >>> writes_not_run_line(log)
    'not run: writes not allowed (1 scenario; set writes: allowed on the job or pass --allow-writes)'
    """
    count = sum(entry["reason"] == WRITES_NOT_ALLOWED
                for entries in log.not_run.values() for entry in entries)
    if not count:
        return None
    return (f"not run: {WRITES_NOT_ALLOWED} ({count} scenario{'s' if count > 1 else ''}; set writes: "
            "allowed on the job or pass --allow-writes)")
