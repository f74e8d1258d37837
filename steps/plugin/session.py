"""The drill run's life in the plugin: a ``DrillRun`` made when pytest configures a drill
(the inventory read, or a usage error naming what is wrong) and dropped when it unconfigures;
a live log line per job, scenario and step; the evidence written and the closing summary.
The rest of the plugin is split by concern: options.py, selection.py, probing.py,
fixtures.py; what a scenario concludes is ``backup_drills.outcomes``.
"""

from __future__ import annotations

import logging
from typing import Any

import allure
import pytest

from backup_drills.core import transport
from backup_drills.core.run import DrillRun
from backup_drills.evidence.log import EvidenceLog
from backup_drills.inventory.schema import Inventory, InventoryError, load_inventory
from backup_drills.steps.plugin.options import (
    DRILLING,
    RUN,
    cycles_kept,
    drills_features,
    evidence_dir,
    inventory_path,
    is_worker,
    resolve_settings,
)
from backup_drills.steps.plugin.selection import WRITES_NOT_ALLOWED, job_of, register_markers


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
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


LOG = logging.getLogger("backup_drills.drill")  # a line per job, scenario and step


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    job = job_of(request.node)
    LOG.info("%s: scenario %s", job.id if job else "-", scenario.name)


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                           step_func: Any) -> None:
    job = job_of(request.node)
    LOG.info("%s: %s %s", job.id if job else "-", step.keyword, step.name)


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: Exception) -> None:
    """A failure that quotes a tool's lines (``backup_drills.core.tool_errors``) attaches its full output."""
    output = getattr(exception, "output", None)
    if isinstance(output, str) and output.strip():
        allure.attach(output, name="the tool's full output", attachment_type=allure.attachment_type.TEXT)


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
