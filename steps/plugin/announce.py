"""What a drill tells beyond its reports: its progress lines on pytest's live log, and the
inventory's notifications (``backup_drills.evidence.notify``) when it starts and when it ends.

    $ backup-drills run --inventory prod.yml -o log_cli=true     # a live line per job and step

A notification that fails is one ``WARNING notify ...`` line; the exit code stays the drill's.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime

import pytest

from backup_drills.core import secrets
from backup_drills.evidence.notify import Target, ping_end, ping_start, run_summary, send_webhook
from backup_drills.inventory.schema import Inventory
from backup_drills.steps.plugin.options import DRILLING, RUN, is_worker

PROGRESS = logging.getLogger("backup_drills")  # every drill logger (.drill, .core...) below it
PING = pytest.StashKey[Target | None]()
WEBHOOK = pytest.StashKey[Target | None]()
STARTED = pytest.StashKey[datetime]()
LEVEL_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """``-o log_cli=true`` (or ``log_cli = true`` in an ini) shows the drill's progress: its lines
    are INFO, and a live log without a level passes only what the loggers let through (WARNING,
    Python's default). An explicit ``--log-level``/``--log-cli-level`` is the user's choice."""
    if not config.pluginmanager.has_plugin("logging"):  # -p no:logging: no live log at all
        return
    chosen = config.getoption("log_cli_level", None) or config.getoption("log_level", None) \
        or config.getini("log_cli_level") or config.getini("log_level")
    if config.getini("log_cli") and not chosen and PROGRESS.level == logging.NOTSET:
        config.stash[LEVEL_BEFORE] = PROGRESS.level
        PROGRESS.setLevel(logging.INFO)


def pytest_unconfigure(config: pytest.Config) -> None:
    if LEVEL_BEFORE in config.stash:
        PROGRESS.setLevel(config.stash[LEVEL_BEFORE])


def targets(inventory: Inventory) -> tuple[Target | None, Target | None, list[str]]:
    """The ping and the webhook the inventory names, and what keeps one from being sent (its
    token's variable unset). The webhook's token is registered with the secret masker."""
    notify = inventory.notify
    if notify is None:
        return None, None, []
    seconds = notify.timeout.total_seconds()
    ping = Target(notify.ping, seconds) if notify.ping else None
    webhook, problems = None, []
    if notify.webhook is not None:
        headers = {}
        name = notify.webhook.token_env
        if name is not None:
            token = os.environ.get(name, "")
            if token:
                secrets.register(token)
                headers["Authorization"] = f"Bearer {token}"
            else:
                problems.append(f"webhook: token_env {name} is not set in the runner's environment; "
                                "the webhook is not sent")
        if not problems:
            webhook = Target(notify.webhook.url, seconds, headers)
    return ping, webhook, problems


def _warn(config: pytest.Config, problem: str) -> None:
    line = secrets.mask(f"WARNING notify {problem} (the drill's verdict is unchanged)")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        if config.get_terminal_writer().width_of_current_line:  # after "FF.. [100%]"
            reporter.write_line("")
        reporter.write_line(line, yellow=True)
    else:
        print(line, file=sys.stderr)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """``<ping>/start`` before any host is touched."""
    config = session.config
    config.stash[STARTED] = datetime.now(UTC)
    if not config.stash.get(DRILLING, False) or is_worker(config):
        return
    inventory = config.stash[RUN].inventory
    ping, webhook, problems = targets(inventory)
    config.stash[PING], config.stash[WEBHOOK] = ping, webhook
    for problem in problems:
        _warn(config, problem)
    if ping is not None:
        try:
            failed = ping_start(ping, config.stash[RUN].evidence.run_id, inventory.name, len(inventory.jobs))
        except Exception as exc:  # a notification never changes the verdict
            failed = f"{type(exc).__name__}: {exc}"
        if failed:
            _warn(config, f"ping /start: {failed}")


@pytest.hookimpl(trylast=True)  # after reporting.py settled the exit code
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The ping's success or ``/fail``, and the webhook's JSON summary, by the run's exit code."""
    config = session.config
    ping, webhook = config.stash.get(PING, None), config.stash.get(WEBHOOK, None)
    if ping is None and webhook is None:
        return
    try:
        _finish(config, ping, webhook, int(session.exitstatus))
    except Exception as exc:  # a notification never changes the verdict
        _warn(config, f"{type(exc).__name__}: {exc}")


def _finish(config: pytest.Config, ping: Target | None, webhook: Target | None, exit_code: int) -> None:
    summary = run_summary(config.stash[RUN].evidence, config.stash[RUN].inventory.name, exit_code,
                          config.stash[STARTED].isoformat(timespec="seconds"),
                          datetime.now(UTC).isoformat(timespec="seconds"))
    if ping is not None:
        failed = ping_end(ping, summary)
        if failed:
            _warn(config, f"ping {'success' if exit_code == 0 else '/fail'}: {failed}")
    if webhook is not None:
        failed = send_webhook(webhook, summary)
        if failed:
            _warn(config, f"webhook: {failed}")
