"""Notifications (``backup_drills.evidence.notify``, the inventory's ``notify:``): checked at load, each
bounded in time and tried at most twice, and never a change to the drill's verdict or exit code.
Real HTTP on loopback; the drills run for real over ``local://`` (a status marker on this
machine). What arrives at a receiver after a real lab drill: tests/faults/test_notify.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from backup_drills.core import secrets
from backup_drills.evidence.notify import Target, post
from backup_drills.inventory.schema import InventoryError, load_inventory


def tiny_estate(tmp: Path, fresh: bool = True, notify: dict[str, Any] | None = None) -> Path:
    """An inventory of this machine (``local://``) with one job whose status marker reports a
    success an hour old (``fresh``) or three days old (past its RPO of 26h)."""
    (tmp / "markers").mkdir(parents=True)
    (tmp / "results").mkdir()
    ended = datetime.now(UTC) - (timedelta(hours=1) if fresh else timedelta(days=3))
    marker = tmp / "markers" / "nightly.json"
    marker.write_text(json.dumps({"job": "nightly", "host": "runner", "status": "success",
                                  "completed_at": ended.isoformat()}))
    doc: dict[str, Any] = {
        "name": "tiny", "hosts": {"runner": {"transport": "local://", "scratch": str(tmp / "scratch")}},
        "jobs": {"nightly": {"host": "runner", "kind": "restore-test", "results": str(tmp / "results"),
                             "marker": {"path": str(marker)}, "rpo": "26h"}}}
    if notify is not None:
        doc["notify"] = notify
    path = tmp / "inventory.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def backup_drills_run(cwd: Path, *args: str, env: dict[str, str] | None = None
                      ) -> subprocess.CompletedProcess[str]:
    """``backup-drills run ARGS`` of the marker scenario, in ``cwd``."""
    command = [sys.executable, "-c", "from backup_drills.cli import main; raise SystemExit(main())", "run",
               "-p", "no:cacheprovider", "-k", "status_marker_reports_a_success", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records each request and answers with ``statuses``
    in turn (200 once they run out)."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses)
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body.decode()})
                self.send_response(received.statuses.pop(0) if received.statuses else 200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def silent() -> Iterator[str]:
    """A URL whose server takes the connection (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/ping/0f1e2d3c-key"


def test_the_notify_section_is_read_with_its_defaults(tmp_path):
    hook = {"url": "https://hooks.example/x", "token_env": "HOOK_TOKEN"}
    path = tiny_estate(tmp_path, notify={"ping": "https://hc.example/ping/abc", "webhook": hook})
    notify = load_inventory(path).notify
    assert notify is not None
    assert notify.ping == "https://hc.example/ping/abc"
    assert notify.webhook is not None
    assert notify.webhook.token_env == "HOOK_TOKEN"
    assert notify.timeout == timedelta(seconds=10)


PING = "https://hc.example/abc"


@pytest.mark.parametrize(("notify", "expected"), [
    ({"ping": "ftp://hc.example/abc"}, "notify.ping: expected an http:// or https:// URL, got "
                                       "'ftp://hc.example/abc'"),
    ({"ping": "https://hc.example/a b"}, "notify.ping = 'https://hc.example/a b': expected a URL "
                                         "without spaces"),
    ({"ping": "https://me:hunter2-pw@hc.example/abc"}, "notify.ping = 'https://me:***@hc.example/abc': "
                                                      "expected a URL without credentials"),
    ({"webhook": {"url": "https://hooks.example/x?api_token=hunter2-pw"}},
     "notify.webhook.url: expected a URL without a credential in its query: name the environment "
     "variable that holds it with token_env"),
    ({"webhook": {"url": "https://hooks.example/x", "token": "hunter2-pw"}},
     "notify.webhook.token: unknown key"),
    ({"ping": PING, "timeout": "5m"}, "notify.timeout: expected a timeout of at most 60s"),
    ({"ping": PING, "timeout": 10}, "notify.timeout: expected a duration with its unit"),
])
def test_a_bad_notify_section_is_refused_naming_key_and_expectation_never_the_secret(
        tmp_path, notify, expected):
    with pytest.raises(InventoryError) as refused:
        load_inventory(tiny_estate(tmp_path, notify=notify))
    assert expected in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_a_post_that_answers_500_is_tried_once_more_and_a_404_is_not(receiver):
    receiver.statuses = [503]
    assert post(Target(f"{receiver.url}/ping/a", timeout=5), b"body", "text/plain") is None
    assert [r["path"] for r in receiver.requests] == ["/ping/a", "/ping/a"]
    receiver.statuses = [404, 404]
    problem = post(Target(f"{receiver.url}/ping/b", timeout=5), b"body", "text/plain")
    assert problem == f"{receiver.url}/...: answered HTTP 404"  # the path (a ping key) not shown
    assert [r["path"] for r in receiver.requests][2:] == ["/ping/b"]


def test_a_receiver_that_never_answers_is_given_up_on_at_its_timeout(silent):
    started = time.monotonic()
    problem = post(Target(silent, timeout=1.0), b"body", "text/plain")
    assert time.monotonic() - started < 2.0  # 1 s, and no second try once it is spent
    assert problem is not None
    assert problem.endswith("/...: no answer within 1s"), problem
    assert "0f1e2d3c" not in problem


def test_a_receiver_that_answers_no_http_is_named_without_the_urls_path():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/ping/0f1e2d3c-key"

        def garbage() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"garbage\r\n\r\n")

        threading.Thread(target=garbage, daemon=True).start()
        problem = post(Target(url, timeout=5), b"body", "text/plain")
    assert problem is not None
    assert problem.startswith(f"{url.split('/ping')[0]}/...: BadStatusLine"), problem
    assert "0f1e2d3c" not in problem


def test_notifications_that_fail_leave_the_drills_verdict_and_exit_code(tmp_path, silent):
    """A ping that never answers and a webhook whose token is not set: one warning line each,
    the run bounded by the timeout (1s a notification), the verified drill still exit 0."""
    estate = tiny_estate(tmp_path / "estate",
                         notify={"ping": silent, "webhook": {"url": silent, "token_env": "NO_SUCH_TOKEN"},
                                 "timeout": "1s"})
    started = time.monotonic()
    run = backup_drills_run(tmp_path, f"--inventory={estate}")
    took = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "1 passed" in output
    warnings = [line for line in output.splitlines() if line.startswith("WARNING notify")]
    port = silent.split(":")[2].split("/")[0]
    assert warnings == [
        "WARNING notify webhook: token_env NO_SUCH_TOKEN is not set in the runner's environment; "
        "the webhook is not sent (the drill's verdict is unchanged)",
        f"WARNING notify ping /start: http://127.0.0.1:{port}/...: no answer within 1s (the drill's "
        "verdict is unchanged)",
        f"WARNING notify ping success: http://127.0.0.1:{port}/...: no answer "
        "within 1s (the drill's verdict is unchanged)"], output
    # the receiver never answers: unbounded, the run would wait for ever (post()'s own bound is
    # timed above); a drill here takes 3 to 20 s, by the machine's load
    assert took < 90, f"{took:.1f}s"


def test_the_webhook_gets_the_json_summary_with_its_token_masked_everywhere_else(tmp_path, receiver):
    token = "hook-token-8c1f2e"
    estate = tiny_estate(tmp_path / "estate", fresh=False,
                         notify={"ping": f"{receiver.url}/ping/uuid-1",
                                 "webhook": {"url": f"{receiver.url}/hook", "token_env": "HOOK_TOKEN"}})
    run = backup_drills_run(tmp_path, f"--inventory={estate}", env={**os.environ, "HOOK_TOKEN": token})
    assert run.returncode == 1, run.stdout + run.stderr
    start, end, hook = receiver.requests
    assert (start["path"], end["path"], hook["path"]) == ("/ping/uuid-1/start", "/ping/uuid-1/fail", "/hook")
    assert "Authorization" not in start["headers"]
    assert hook["headers"]["Authorization"] == f"Bearer {token}"
    assert "jobs: 0 verified, 1 not compliant, 0 could not run, 0 waived" in end["body"]
    assert "not verified: nightly@runner" in end["body"]
    summary = json.loads(hook["body"])
    assert (summary["exit_code"], summary["result"]) == (1, "not compliant")
    assert summary["failed"] == ["nightly@runner"]
    assert summary["jobs"][0]["verdict"] == "not_compliant"
    assert token not in run.stdout + run.stderr + start["body"] + end["body"] + hook["body"]
    secrets.forget()
