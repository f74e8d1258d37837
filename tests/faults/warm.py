"""A warm pytest for the fault tests: one server per test process imports the suite's libraries
once, then forks a fresh ``pytest.main`` for every drill a fault test runs. ``python -m pytest``
spends about 2 CPU-seconds importing those libraries before a drill starts; a fork finds them in
memory. Everything after the imports (plugins, options, collection, probes, steps, reports)
runs in the child as it does on the command line.

    >>> warm = WarmPytest(ROOT)                                              # doctest: +SKIP
    >>> warm.run(["features/repository.feature", "-q"], timeout=600).returncode  # doctest: +SKIP
    0

Requests and answers are JSON lines on the server's stdin and stdout: ``{"args": [...], "cwd":
..., "env": {...}, "output": FILE, "timeout": SECONDS}`` then ``{"exit": CODE}``, or ``{"exit":
null}`` when the drill overran its limit and was killed, with all it started (it runs in a
session of its own).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import pkgutil
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HOME = Path(__file__).resolve().parents[2]  # the checkout, where ``tests.faults.warm`` imports from
# what a drill's ``python -m pytest`` spends its start on (measured with ``python -X importtime``)
WARM_MODULES = (
    "pytest", "_pytest.config", "_pytest.python", "_pytest.terminal", "_pytest.fixtures",
    "_pytest.assertion.rewrite", "_pytest._code.code", "pytest_bdd", "pytest_bdd.scenario",
    "pytest_bdd.parser", "pytest_bdd.gherkin_parser", "pytest_bdd.generation", "allure_commons",
    "allure_pytest_bdd", "testinfra", "testinfra.backend.ssh", "testinfra.backend.docker",
    "xdist", "xdist.plugin", "xdist.scheduler", "execnet", "pydantic", "yaml", "pygments.lexers",
    "prometheus_client", "prometheus_client.parser",
)
WARM_PACKAGES = ("backup_drills",)  # the engine, every module of it; not its steps (below)
COLD = "backup_drills.steps"  # the plugin and its steps: pytest loads them, rewriting their asserts
# Plugins imported before pytest starts cannot have their asserts rewritten; pytest says so,
# and this project's ini turns warnings into errors. Drills have no asserts of theirs to rewrite.
QUIET = ("-W", "ignore::pytest.PytestAssertRewriteWarning")


def warm_up() -> None:
    """Import what a drill imports, so that every fork finds it in memory (a library this
    environment lacks is left to the drill, which may not need it either)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                continue
        for package in WARM_PACKAGES:
            for name in _modules_below(package):
                importlib.import_module(name)


def _modules_below(package: str) -> list[str]:
    """Every module below ``package`` but the plugin's (pkgutil.walk_packages would import the
    steps' packages to walk them)."""
    found = []
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__, f"{package}."):
        if module.name != COLD:
            found.append(module.name)
            found += _modules_below(module.name) if module.ispkg else []
    return found


def become_pytest(request: dict[str, Any]) -> None:
    """In the forked child: take the request's cwd, environment and output, run
    ``pytest.main`` with its arguments, exit with pytest's code (after the exit handlers)."""
    code = 3
    try:
        os.setsid()
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.chdir(request["cwd"])
        sys.path.insert(0, request["cwd"])  # as ``python -m pytest`` run there would have it
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["pytest", *request["args"]]
        import pytest

        code = int(pytest.main(request["args"]))
    except SystemExit as exc:  # as the interpreter would exit: None is 0, a message is 1
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # whatever it was, the caller reads it in the output
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()  # e.g. the pinned host keys' private folder
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def wait_for(pid: int, timeout: float) -> int | None:
    """The child's exit code, or None once it overran ``timeout`` and was killed with its
    session."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)


def serve() -> None:
    """Warm up, then answer requests one at a time until stdin closes. Answers go to a private
    copy of stdout (not inherited); whatever else writes to stdout lands on stderr."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    warm_up()
    gc.freeze()  # what was imported stays out of every child's collections (pytest runs several)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            become_pytest(request)
        answers.write(json.dumps({"exit": wait_for(pid, float(request["timeout"]))}) + "\n")
        answers.flush()


class WarmPytest:
    """The client: starts the server on first use, hands it one drill at a time, run in
    ``cwd``."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._server: subprocess.Popen[str] | None = None

    def run(self, args: list[str], timeout: float, env: Mapping[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        """``pytest ARGS`` in a warm fork, output (stdout and stderr) captured; a drill that
        overruns ``timeout`` raises ``subprocess.TimeoutExpired`` as ``subprocess.run`` would."""
        args = [*QUIET, *args]
        fd, output = tempfile.mkstemp(prefix="warm-pytest-", suffix=".out")
        os.close(fd)
        try:
            environment = dict(env if env is not None else os.environ)
            request = {"args": args, "cwd": str(self.cwd), "env": environment, "output": output,
                       "timeout": timeout}
            answer = self._ask(request, timeout)
            text = Path(output).read_text(errors="replace")
        finally:
            os.unlink(output)
        if answer["exit"] is None:
            raise subprocess.TimeoutExpired(["pytest", *args], timeout, output=text)
        return subprocess.CompletedProcess(["pytest", *args], answer["exit"], text, "")

    def _ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        server = self._started()
        assert server.stdin is not None
        assert server.stdout is not None
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        # the server kills an overrunning drill at ``timeout``: a minute more, and it is the
        # server that hangs (or died: readline then returns "" at once)
        ready, _, _ = select.select([server.stdout], [], [], timeout + 60)
        line = server.stdout.readline() if ready else ""
        if not line:
            self.close()
            why = f"exited {server.returncode} (its error is above)" if ready else \
                f"gave no answer within {timeout + 60:.0f}s"
            raise RuntimeError(f"the warm pytest server {why}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _started(self) -> subprocess.Popen[str]:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen([sys.executable, "-m", "tests.faults.warm"], cwd=HOME,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self._server

    def close(self) -> None:
        """Stop the server (its stdin closes; a hung one is killed after 10 s)."""
        server, self._server = self._server, None
        if server is None:
            return
        assert server.stdin is not None
        assert server.stdout is not None
        server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


if __name__ == "__main__":
    serve()
