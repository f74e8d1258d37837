"""The up-front probe: every host the selected tests need (reachable, its clock, scratch swept,
tool versions, each backend opened) and every bucket, in parallel, before the first drill; an
xdist worker probes each of its hosts before that host's first test. What did not answer is
named once, and its scenarios could not run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from backup_drills.adapters.tool import tool_class
from backup_drills.core.backends import probe_all
from backup_drills.core.clock import read_clock
from backup_drills.core.tools import tool_versions
from backup_drills.core.transport import DrillCouldNotRun
from backup_drills.inventory.schema import Job
from backup_drills.restores.scratch import sweep
from backup_drills.restores.trees import sweep_canaries
from backup_drills.steps.plugin.options import RUN, is_worker
from backup_drills.steps.plugin.selection import job_of

LAB_HINT = "is the lab up? `make lab-up` (or `drill-lab up` in the virtualenv) starts it"


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
    warned: list[str] = []  # what a host's own tool warned about its job (borgmatic: a deprecation)

    def probe(name: str) -> tuple[str, str | None, dict[str, str]]:
        try:  # a transport whose extra is not installed (paramiko) names it: COULD NOT RUN
            remote = run.remote(name, timeout=config.getoption("remote_timeout"))
        except DrillCouldNotRun as exc:
            return name, str(exc), {}
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
                jobs[index] = read_job(remote, job, warn=warned.append)
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
    for line in dict.fromkeys(warned):
        if reporter is not None:
            reporter.write_line(f"WARNING {line}", yellow=True)
    for name, reason, backends_down in results:
        if reason is not None:
            config.stash[RUN].unreachable[name] = reason
            hint = f"; {LAB_HINT}" if inventory.name == "lab" else ""
            if reporter is not None:
                reporter.write_line(f"UNREACHABLE {reason}{hint}", red=True, bold=True)
        for finding in backends_down.values():
            if reporter is not None:
                reporter.write_line(f"COULD NOT RUN host {name}: {finding}", red=True, bold=True)
