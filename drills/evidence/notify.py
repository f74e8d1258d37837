"""Notifications of a drill run: a healthchecks-style ping URL and a webhook of the run's JSON
summary, both named in the inventory's ``notify:`` section.

    notify:
      ping: https://hc-ping.com/5f1c6c2e-0000-4000-8000-000000000000
      webhook: {url: "https://hooks.example.net/drills", token_env: DRILLS_WEBHOOK_TOKEN}
      timeout: 10s

The ping gets ``<ping>/start`` when the drill starts; when it ends, ``<ping>`` on exit 0 and
``<ping>/fail`` on any other exit code, with a short summary as the body (counts and the jobs
that were not verified). The webhook gets the run's JSON summary (``run_summary``) once, at the
end, with ``Authorization: Bearer <token>`` when ``token_env`` names a variable of the runner.

Each notification is bounded: it waits at most ``timeout`` in all, and tries at most twice (the
second try only after a refused connection or a 5xx answer, and only within that time). A
notification that fails is one warning line (``describe_url`` shows the URL without its path,
where a ping URL's key is) and never changes the drill's verdict or its exit code. Bodies pass
through the secret masker (``backup_drills.core.secrets``).

    >>> with_suffix("https://hc.example/ping/abc?create=1", "fail")
    'https://hc.example/ping/abc/fail?create=1'
    >>> describe_url("https://hc.example/ping/abc?create=1")
    'https://hc.example/...'
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from backup_drills import __version__
from backup_drills.core.secrets import mask
from backup_drills.evidence.log import EvidenceLog
from backup_drills.exit_codes import MEANINGS

SUMMARY_VERSION = 1
EXIT_MEANINGS = {int(code): words for code, words in MEANINGS.items()}  # drills/exit_codes.py
RETRY_PAUSE = 0.5  # seconds between the two tries of one notification
USER_AGENT = f"backup-drills/{__version__}"


@dataclass(frozen=True)
class Target:
    """Where one notification goes: its URL, extra headers (a token), its time bound."""

    url: str
    timeout: float
    headers: Mapping[str, str] | None = None


def with_suffix(url: str, suffix: str) -> str:
    """``url`` with ``/suffix`` appended to its path, its query kept (a healthchecks slug URL's
    ``?create=1``)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + suffix))


def describe_url(url: str) -> str:
    """The URL as a warning shows it: scheme and host, never the path or query (a ping URL's
    UUID or key is all a stranger needs to ping it)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/..."


def post(target: Target, body: bytes, content_type: str,
         clock: Callable[[], float] = time.monotonic) -> str | None:
    """POST ``body`` to the target; None when it answered 2xx, else why not, in words that never
    show the URL's path. At most two tries within ``target.timeout`` seconds in all.

    >>> post(Target("http://127.0.0.1:9/", timeout=0.5), b"", "text/plain")  # doctest: +ELLIPSIS
    'http://127.0.0.1:9/...: ...'
    """
    deadline = clock() + target.timeout
    problem = "no time left to try"
    for attempt in (1, 2):
        left = deadline - clock()
        if left <= 0:
            break
        problem, retry = _try(target, body, content_type, left)
        if not problem:
            return None
        if not retry or attempt == 2 or deadline - clock() <= RETRY_PAUSE:
            break
        time.sleep(RETRY_PAUSE)
    shown = mask(problem).replace(target.url, describe_url(target.url))
    return f"{describe_url(target.url)}: {shown}"


def _try(target: Target, body: bytes, content_type: str, seconds: float) -> tuple[str, bool]:
    """One POST, given ``seconds`` in all: ("", False) when answered 2xx, else (why not,
    whether a second try may help). The request runs in a daemon thread that is left behind
    when it overruns: a socket timeout bounds each read, not a server that trickles bytes."""
    outcome: list[tuple[str, bool]] = []
    request = urllib.request.Request(
        target.url, data=body, method="POST",
        headers={"Content-Type": content_type, "User-Agent": USER_AGENT, **(target.headers or {})})

    def attempt() -> None:
        try:
            with urllib.request.urlopen(request, timeout=seconds) as answer:
                answer.read(65536)
            outcome.append(("", False))
        except urllib.error.HTTPError as exc:
            outcome.append((f"answered HTTP {exc.code}", exc.code >= 500))
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                outcome.append((f"no answer within {target.timeout:g}s", False))
            else:
                outcome.append((str(exc.reason), True))
        except TimeoutError:
            outcome.append((f"no answer within {target.timeout:g}s", False))
        except (OSError, ValueError) as exc:  # a reset connection, a malformed answer
            outcome.append((f"{type(exc).__name__}: {exc}", True))
        except Exception as exc:  # a notification never ends the drill
            outcome.append((f"{type(exc).__name__}: {exc}", False))

    worker = threading.Thread(target=attempt, name="drills-notify", daemon=True)
    worker.start()
    worker.join(seconds)
    return outcome[0] if outcome else (f"no answer within {target.timeout:g}s", False)


def run_summary(log: EvidenceLog, inventory: str, exit_code: int, started: str, finished: str
                ) -> dict[str, Any]:
    """The run's JSON summary, as the webhook gets it: the exit code and what it means, the
    count of jobs by verdict, each job's row of ``summary.md``, the jobs not verified.

    >>> log = EvidenceLog(run_id="20261203T120000Z")
    >>> log.outcome("flux-backup@motoko", "restic check passes", "not_compliant", [], "pack 3f0a")
    >>> summary = run_summary(log, "lab", 1, "2026-12-03T12:00:00+00:00", "2026-12-03T12:01:00+00:00")
    >>> summary["result"], summary["failed"], summary["counts"]["not_compliant"]
    ('not compliant', ['flux-backup@motoko'], 1)
    """
    rows = log.summary_rows()
    counts = Counter(row["verdict"] for row in rows)
    return {
        "schema_version": SUMMARY_VERSION, "suite_version": __version__, "run_id": log.run_id,
        **({"shard": log.shard} if log.shard else {}),
        "inventory": inventory, "started": started, "finished": finished,
        "exit_code": exit_code, "result": EXIT_MEANINGS.get(exit_code, f"exit {exit_code}"),
        "counts": {verdict: counts[verdict] for verdict in ("verified", "not_compliant",
                                                            "could_not_run", "waived")},
        "failed": [row["job"] for row in rows if row["verdict"] in ("not_compliant", "could_not_run")],
        "jobs": rows,
    }


def summary_text(summary: Mapping[str, Any]) -> str:
    """The ping's body at the end of a run: a few lines, the jobs not verified named.

    >>> print(summary_text({"inventory": "lab", "run_id": "R1", "exit_code": 1,
    ...     "result": "not compliant", "failed": ["flux-backup@motoko"],
    ...     "counts": {"verified": 3, "not_compliant": 1, "could_not_run": 0, "waived": 0}}))
    backup-drills run R1 of inventory lab: exit 1 (not compliant)
    jobs: 3 verified, 1 not compliant, 0 could not run, 0 waived
    not verified: flux-backup@motoko
    """
    counts = ", ".join(f"{n} {verdict.replace('_', ' ')}" for verdict, n in summary["counts"].items())
    lines = [f"backup-drills run {summary['run_id']} of inventory {summary['inventory']}: "
             f"exit {summary['exit_code']} ({summary['result']})", f"jobs: {counts}"]
    if summary["failed"]:
        lines.append(f"not verified: {', '.join(summary['failed'])}")
    return "\n".join(lines)


def ping_start(ping: Target, run_id: str, inventory: str, jobs: int) -> str | None:
    """``<ping>/start``: the drill has begun (healthchecks measures the run's duration from it)."""
    body = f"backup-drills run {run_id} of inventory {inventory} started ({jobs} job(s) in the inventory)"
    return post(Target(with_suffix(ping.url, "start"), ping.timeout, ping.headers),
                mask(body).encode(), "text/plain; charset=utf-8")


def ping_end(ping: Target, summary: Mapping[str, Any]) -> str | None:
    """``<ping>`` on exit 0, ``<ping>/fail`` otherwise, the summary's text as the body."""
    url = ping.url if summary["exit_code"] == 0 else with_suffix(ping.url, "fail")
    return post(Target(url, ping.timeout, ping.headers), mask(summary_text(summary)).encode(),
                "text/plain; charset=utf-8")


def send_webhook(webhook: Target, summary: Mapping[str, Any]) -> str | None:
    """The run's JSON summary, POSTed to the webhook."""
    body = mask(json.dumps(summary, indent=2, default=str))
    return post(webhook, body.encode(), "application/json")
