"""What a pipeline and an auditor read from a drill run: exit codes, Allure categories and the
Allure environment.

Exit codes of ``pytest features/``: the suite's table (``backup_drills.exit_codes``): 0 every drill
verified; 1 a drill ran and found the estate not compliant; 2 no drill found the estate not
compliant, but at least one could not run (host unreachable, timed out, tool missing); 3 internal
error; 4 bad input (an invalid inventory or option, or nothing to drill).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backup_drills import __version__
from backup_drills.adapters.s3api import auditor_keys
from backup_drills.adapters.tool import NotSupported
from backup_drills.core import secrets
from backup_drills.evidence import manifest
from backup_drills.evidence.controls import matrix, render_markdown
from backup_drills.evidence.prometheus import render, write_textfile
from backup_drills.evidence.signing import SigningError, sign, signing_key
from backup_drills.evidence.waivers import WaiverBook, WaiverError, load_waivers
from backup_drills.exit_codes import ExitCode, drill_exit, meaning
from backup_drills.inventory.schema import Inventory, Job
from backup_drills.outcomes import JUDGED, NOT_COMPLIANT
from backup_drills.steps.plugin.options import DRILLING, RUN, evidence_dir, is_worker
from backup_drills.steps.plugin.selection import job_of, scenario_template

OUTCOMES = pytest.StashKey[Counter[str]]()
VERIFIED = pytest.StashKey[dict[str, bool]]()
WAIVERS = pytest.StashKey[WaiverBook]()
DRILL_EXIT = pytest.StashKey[int]()  # the run's exit code, from the table
JOB_OF_TEST = re.compile(r"\[([^\[\]@]+@[^\[\]@]+)\]$")  # test_x[flux-backup@motoko]
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
                    help="sign the run's manifest.json (SSHSIG, ssh-keygen -Y sign) with this "
                         "OpenSSH private key: a file of mode 0600, env:NAME (the key's text in "
                         "a variable) or agent:PUBLIC (ssh-agent); `drill-evidence keygen` makes one")
    group.addoption("--prometheus-textfile", metavar="PATH", default=None,
                    help="write drill results for node_exporter's textfile collector")
    group.addoption("--waivers", metavar="PATH", default=None,
                    help="YAML file of waivers: a matching failure is reported as waived and "
                         "does not fail the run until the waiver expires")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES] = Counter()
    config.stash[VERIFIED] = {}
    waivers = config.getoption("waivers")
    if waivers:
        try:
            config.stash[WAIVERS] = load_waivers(Path(waivers))
        except WaiverError as exc:
            raise pytest.UsageError(f"--waivers: {exc}") from None
    key = config.getoption("sign_evidence")
    if key:
        try:
            config.stash[RUN].signer = signing_key(key)
        except SigningError as exc:
            raise pytest.UsageError(f"--sign-evidence: {exc}") from None
    if config.stash.get(DRILLING, False):
        register_secrets(config.stash[RUN].inventory)
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
    not_compliant = excinfo is not None and excinfo.errisinstance(NOT_COMPLIANT)
    if excinfo is not None and excinfo.errisinstance(JUDGED):
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
    item.config.stash[RUN].evidence.outcome(job.id, scenario_title(item), outcome, controls, message)


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
    config.stash[DRILL_EXIT] = int(session.exitstatus)
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.exitstatus == ExitCode.BAD_INPUT:
        config.get_terminal_writer().line("nothing to drill: no scenario matches a job of the inventory "
                                          "and the selection (-k, -m); exit 4 (bad input)", red=True)
    results = getattr(config.option, "allure_report_dir", None)
    if results:
        write_allure_context(Path(results), config)
    textfile = config.getoption("prometheus_textfile")
    if textfile:
        log = config.stash[RUN].evidence
        write_textfile(Path(textfile), render(config.stash[VERIFIED], log.jobs))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The verdict's line at the end of a drill: pytest's own says "failed" for both kinds."""
    if DRILL_EXIT in config.stash and not is_worker(config):
        code = config.stash[DRILL_EXIT]
        terminalreporter.write_sep("=", verdict_line(config.stash[OUTCOMES], code),
                                   green=code == ExitCode.VERIFIED, red=code != ExitCode.VERIFIED)


def verdict_line(outcomes: Counter[str], code: int) -> str:
    """How many scenarios could not run, how many found the estate not compliant, and the exit
    code that follows.

    >>> verdict_line(Counter(could_not_run=11), 2)
    'drill: 11 could not run (no verdict), 0 not compliant: exit 2 (could not run)'
    >>> verdict_line(Counter(not_compliant=1, could_not_run=2, waived=1), 1)
    'drill: 2 could not run (no verdict), 1 not compliant, 1 waived: exit 1 (not compliant)'
    """
    waived = f", {outcomes['waived']} waived" if outcomes["waived"] else ""
    return (f"drill: {outcomes['could_not_run']} could not run (no verdict), {outcomes['not_compliant']} "
            f"not compliant{waived}: exit {code} ({meaning(code)})")


def write_allure_context(results: Path, config: pytest.Config) -> None:
    """categories.json and environment.properties beside the Allure results."""
    results.mkdir(parents=True, exist_ok=True)
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))
    inventory = config.stash[RUN].inventory
    lines = {"suite.version": __version__, "inventory.name": inventory.name,
             "inventory.file": inventory.source_file,
             "run.start": config.stash[RUN].started.isoformat(timespec="seconds"),
             "run.end": datetime.now(UTC).isoformat(timespec="seconds")}
    for host, versions in sorted(config.stash[RUN].versions.items()):
        for tool, version in versions.items():
            lines[f"{host}.{tool}"] = version
    (results / "environment.properties").write_text(
        "".join(f"{key}={value}\n" for key, value in lines.items()))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Once every worker has written its part: the Allure results (attachments, parameters,
    status messages) and the JUnit XML, masked as files (``backup_drills.core.secrets.mask_tree``)."""
    if not config.stash.get(DRILLING, False) or is_worker(config):
        return
    results = getattr(config.option, "allure_report_dir", None)
    if results:
        secrets.mask_tree(Path(results))
    junit = getattr(config.option, "xmlpath", None)
    if junit and Path(junit).is_file():
        secrets.mask_file(Path(junit))
    write_manifest(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The jobs this run is to drill: those of the tests left after selection (-k, -m,
    --shard, writes not allowed)."""
    if RUN in session.config.stash:
        session.config.stash[RUN].expected.update(
            job.id for job in map(job_of, session.items) if job is not None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """With -n, the controller collects nothing: the jobs are read from the workers' test IDs."""
    run = node.config.stash.get(RUN, None)
    if run is not None:
        run.expected.update(found.group(1) for found in map(JOB_OF_TEST.search, ids) if found)


def write_manifest(config: pytest.Config) -> Path | None:
    """The evidence folder's ``manifest.json`` once every file of the run is written (the
    Prometheus textfile and JUnit are masked by then), signed with ``--sign-evidence``: run id,
    times, suite version, inventory digest, expected jobs, every file's sha256, waivers."""
    run = config.stash.get(RUN, None)
    if run is None:
        return None
    log = run.evidence
    folder = evidence_dir(config) / log.run_id
    expected = run.expected
    if not folder.is_dir() and not expected:
        return None  # nothing selected, nothing written (a shard whose part holds no host)
    if folder.is_dir():  # this run's controls matrix, as a merge writes the merged run's
        rows = matrix(folder)
        (folder / "controls.json").write_text(json.dumps(rows, indent=2) + "\n")
        (folder / "controls.md").write_text(render_markdown(rows))
    inventory = run.inventory
    book = config.stash.get(WAIVERS, None)
    outputs = [Path(str(path)) for path in (config.getoption("prometheus_textfile"),
                                            getattr(config.option, "xmlpath", None)) if path]
    facts = manifest.RunFacts(
        run_id=log.run_id, started=run.started, ended=datetime.now(UTC),
        expected_jobs=sorted(expected), shard=log.shard,
        inventory=Path(inventory.source_file) if inventory.source_file else None,
        inventory_name=inventory.name, outputs=outputs,
        waivers=[{"job": w.job or "*", "scenario": w.scenario or "*", "owner": w.owner,
                  "justification": w.justification, "expires": w.expires.isoformat()}
                 for w in (book.waivers if book is not None else [])])
    written = manifest.write(folder, facts)
    signer = run.signer
    if signer is not None:
        try:
            sign(written, signer)
        except SigningError as exc:  # the run's verdicts stand; its evidence is not signed
            sys.stderr.write(f"backup-drills: evidence NOT signed: {exc}\n")
    return written


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    """A scenario asks the job's tool for something it does not do (``NotSupported``: restic's
    read rotation of a borg job): skipped, with the tool's reason; never a verdict."""
    try:
        return (yield)
    except NotSupported as exc:
        pytest.skip(str(exc))
