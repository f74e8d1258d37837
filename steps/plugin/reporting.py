"""What a pipeline and an auditor read from a drill run: exit codes, Allure categories and the
Allure environment.

Exit codes of ``pytest features/``: the suite's table (``drills.exit_codes``): 0 every drill
verified; 1 a drill ran and found the estate not compliant; 2 no drill found the estate not
compliant, but at least one could not run (host unreachable, timed out, tool missing); 3 internal
error; 4 bad input (an invalid inventory or option, or nothing to drill).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drills import __version__
from drills.adapters.restic import RestoreFailed
from drills.adapters.s3api import auditor_keys
from drills.core import secrets
from drills.core.transport import DrillCouldNotRun
from drills.evidence.prometheus import render, write_textfile
from drills.evidence.signing import SigningError, check_private_key
from drills.evidence.waivers import WaiverBook, WaiverError, load_waivers
from drills.exit_codes import ExitCode, drill_exit
from drills.inventory.schema import Inventory, Job
from steps.plugin.session import (
    DRILLING,
    EVIDENCE,
    INVENTORY,
    VERSIONS,
    NotCompliant,
    is_worker,
    job_of,
    scenario_template,
)

OUTCOMES = pytest.StashKey[Counter[str]]()
VERIFIED = pytest.StashKey[dict[str, bool]]()
WAIVERS = pytest.StashKey[WaiverBook]()
STARTED = pytest.StashKey[datetime]()
CATEGORIES = [
    {"name": "Backup is broken (not compliant)", "matchedStatuses": ["failed"],
     "description": "A drill ran and found the estate not as the runbook says."},
    {"name": "Drill could not run", "matchedStatuses": ["broken"],
     "description": "Host unreachable, command timed out, tool missing: no verdict on the backup."},
    {"name": "Waived", "matchedStatuses": ["skipped"], "messageRegex": ".*WAIVED.*",
     "description": "A failure covered by an owned, unexpired waiver."},
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backup drills")
    group.addoption("--sign-evidence", metavar="KEY", default=None,
                    help="sign each evidence file with this ed25519 private key "
                         "(make one with `drill-evidence keygen`)")
    group.addoption("--prometheus-textfile", metavar="PATH", default=None,
                    help="write drill results for node_exporter's textfile collector")
    group.addoption("--waivers", metavar="PATH", default=None,
                    help="YAML file of waivers: a matching failure is reported as waived and "
                         "does not fail the run until the waiver expires")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES] = Counter()
    config.stash[VERIFIED] = {}
    config.stash[STARTED] = datetime.now(UTC)
    waivers = config.getoption("waivers")
    if waivers:
        try:
            config.stash[WAIVERS] = load_waivers(Path(waivers))
        except WaiverError as exc:
            raise pytest.UsageError(f"--waivers: {exc}") from None
    key = config.getoption("sign_evidence")
    if key:
        try:
            check_private_key(Path(key))
        except SigningError as exc:
            raise pytest.UsageError(f"--sign-evidence: {exc}") from None
    if config.stash.get(DRILLING, False):
        register_secrets(config.stash[INVENTORY])
        secrets.mask_log_records()


def register_secrets(inventory: Inventory) -> None:
    """Every secret value the runner holds for this inventory, registered for masking before
    anything runs: the hosts' ``credentials_from_env`` values and the object stores' auditor
    keys (from the environment or their env files). The hosts' own env files never reach the
    runner."""
    secrets.forget()
    for host in inventory.hosts.values():
        secrets.register_all(os.environ.get(name) for name in host.credentials_from_env)
    for store in inventory.object_stores.values():
        auditor_keys(store)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """What the terminal shows of a drill goes through the masker (live log, reports, an
    internal error's traceback)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not session.config.stash.get(DRILLING, False):
        return
    writer = session.config.get_terminal_writer()
    write = writer.write

    def masked(msg: str, *, flush: bool = False, **markup: bool) -> None:
        write(secrets.mask(msg), flush=flush, **markup)

    writer.write = masked  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Show a verdict as its message (host, job, paths), not a traceback; apply waivers; count;
    mask every secret in what the report shows (traceback, ``-l`` locals, captured output).
    Innermost, so that the Allure listener, JUnit and the terminal get the report as changed
    here."""
    report = yield
    judged = _judged(item, call, report)
    mask_report(judged)
    return judged


def mask_report(report: pytest.TestReport) -> None:
    """Mask every registered secret in a test report: its traceback (rendered to text when a
    secret is in it), its captured output and log, a waiver's reason."""
    if not secrets.active():
        return
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = report.longrepr
        report.longrepr = (path, line, secrets.mask(reason))
    elif report.longrepr is not None:
        text = str(report.longrepr)
        if secrets.mask(text) != text:
            report.longrepr = secrets.mask(text)
    report.sections = [(title, secrets.mask(content)) for title, content in report.sections]
    if hasattr(report, "wasxfail"):
        report.wasxfail = secrets.mask(report.wasxfail)


def _judged(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
            ) -> pytest.TestReport:
    job = job_of(item)
    if job is not None and (report.when == "call" or report.failed):
        verified = item.config.stash[VERIFIED]
        verified[job.id] = verified.get(job.id, True) and report.passed
    if not report.failed:
        if job is not None and report.when == "call" and report.passed:
            _log_outcome(item, job, "verified")
        return report
    excinfo = call.excinfo
    # a restore the backup tool cannot complete is a verdict on the backup, like a failed check
    not_compliant = excinfo is not None and excinfo.errisinstance((NotCompliant, RestoreFailed))
    if excinfo is not None and excinfo.errisinstance((NotCompliant, RestoreFailed, DrillCouldNotRun)):
        kind = "NOT COMPLIANT" if not_compliant else "COULD NOT RUN"
        report.longrepr = f"{kind}: {excinfo.value}"
    book = item.config.stash.get(WAIVERS, None)
    if book is not None and job is not None:
        scenario = scenario_title(item)
        waiver = book.find(job.id, scenario)
        if waiver is not None:
            report.outcome = "skipped"
            report.wasxfail = f"WAIVED ({waiver.describe()}): {str(report.longrepr)[:500]}"
            item.config.stash[OUTCOMES]["waived"] += 1
            _log_outcome(item, job, "waived", report.wasxfail)
            return report
        expired = book.expired_for(job.id, scenario)
        if expired is not None:
            report.longrepr = f"{report.longrepr}\n(a waiver expired on {expired.expires}: " \
                              f"{expired.justification}, owner {expired.owner})"
    outcome = "not_compliant" if not_compliant else "could_not_run"
    item.config.stash[OUTCOMES][outcome] += 1
    if job is not None:
        _log_outcome(item, job, outcome, str(report.longrepr))
    return report


def _log_outcome(item: pytest.Item, job: Job, outcome: str, message: str = "") -> None:
    controls = [str(mark.args[0]) for mark in item.iter_markers("control")]
    item.config.stash[EVIDENCE].outcome(job.id, scenario_title(item), outcome, controls, message)


def scenario_title(item: pytest.Item) -> str:
    """The Gherkin scenario title of a pytest-bdd test."""
    template = scenario_template(item)
    return str(template.name) if template is not None else item.name


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not config.stash.get(DRILLING, False) or is_worker(config):
        return
    outcomes = config.stash[OUTCOMES]
    session.exitstatus = drill_exit(exitstatus, outcomes["not_compliant"], bool(config.getoption("shard")))
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.exitstatus == ExitCode.BAD_INPUT:
        config.get_terminal_writer().line("nothing to drill: no scenario matches a job of the inventory "
                                          "and the selection (-k, -m); exit 4 (bad input)", red=True)
    results = getattr(config.option, "allure_report_dir", None)
    if results:
        write_allure_context(Path(results), config)
    textfile = config.getoption("prometheus_textfile")
    if textfile:
        log = config.stash[EVIDENCE]
        write_textfile(Path(textfile), render(config.stash[VERIFIED], log.jobs))


def write_allure_context(results: Path, config: pytest.Config) -> None:
    """categories.json and environment.properties beside the Allure results."""
    results.mkdir(parents=True, exist_ok=True)
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))
    inventory = config.stash[INVENTORY]
    lines = {"suite.version": __version__, "inventory.name": inventory.name,
             "inventory.file": inventory.source_file,
             "run.start": config.stash[STARTED].isoformat(timespec="seconds"),
             "run.end": datetime.now(UTC).isoformat(timespec="seconds")}
    for host, versions in sorted(config.stash[VERSIONS].items()):
        for tool, version in versions.items():
            lines[f"{host}.{tool}"] = version
    (results / "environment.properties").write_text(
        "".join(f"{key}={value}\n" for key, value in lines.items()))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Once every worker has written its part: the Allure results (attachments, parameters,
    status messages) and the JUnit XML, masked as files (``drills.core.secrets.mask_tree``)."""
    if not config.stash.get(DRILLING, False) or is_worker(config):
        return
    results = getattr(config.option, "allure_report_dir", None)
    if results:
        secrets.mask_tree(Path(results))
    junit = getattr(config.option, "xmlpath", None)
    if junit and Path(junit).is_file():
        secrets.mask_file(Path(junit))
