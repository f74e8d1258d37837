"""Fault-test harness: inject a fault into the lab, run one scenario of the real suite through
pytest in a subprocess, read its verdict and messages, heal.

Faults are injected the way they happen in an estate: from inside the lab hosts (``docker
exec``: a disabled timer, an aged marker, a killed backup) or in the bucket itself (boto3 with
the lab's admin identity: a flipped byte, a deleted object). Never through the suite.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from pytest_bdd.scenario import make_python_name

from backup_drills.evidence.signing import keygen
from lab.estate import PREFIX, Lab, sh, store_client
from lab.state import LabState
from tests.faults.warm import WarmPytest

ROOT = Path(__file__).resolve().parents[2]


def scenario_node(test: str) -> str:
    """The node ID of a scenario's test in its feature file: ``scenario_node("test_restic_check_passes")``
    is ``features/repository.feature::test_restic_check_passes``."""
    for path in sorted((ROOT / "features").glob("*.feature")):
        for line in path.read_text().splitlines():
            keyword, colon, title = line.strip().partition(":")
            if colon and keyword in ("Scenario", "Scenario Outline") and \
                    f"test_{make_python_name(title.strip())}" == test:
                return f"features/{path.name}::{test}"
    raise LookupError(f"no scenario of features/ is collected as {test}")


@dataclass(frozen=True)
class ScenarioRun:
    exit_code: int
    output: str

    @property
    def failed(self) -> bool:
        return self.exit_code in (1, 2) and re.search(r"\b1 failed\b", self.output) is not None

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and re.search(r"\b1 passed\b", self.output) is not None

    def expect_failure(self, *fragments: str, exit_code: int = 1) -> None:
        """The scenario failed with the exit code a pipeline reads (1: not compliant, 2: could
        not run), and its report names every fragment (host, job, path...)."""
        assert self.failed, f"the scenario did not fail:\n{self.output}"
        assert self.exit_code == exit_code, f"exit {self.exit_code}, not {exit_code}:\n{self.output}"
        absent = [f for f in fragments if f not in self.output]
        assert not absent, f"the failure report does not name {absent}:\n{self.output}"

    def expect_pass(self) -> None:
        assert self.passed, f"the scenario did not pass:\n{self.output}"


class Healed:
    """The scenarios a module's fault tests healed, each of which must pass again for its job:
    proven once, at the end of the module, by one drill of them all (``drill.healed``)."""

    def __init__(self) -> None:
        self.scenarios: dict[str, None] = {}  # node IDs, in the order the tests named them

    def verify(self, drill: Drill) -> None:
        if not self.scenarios:
            return
        nodes = list(self.scenarios)
        run = drill.pytest([*nodes, "-q", "--tb=line", "-rfE"], 900)
        if run.returncode != 0 or not re.search(rf"\b{len(nodes)} passed\b", run.stdout):
            failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", run.stdout, re.MULTILINE)
            raise AssertionError(f"after this module's faults were healed, {failed or nodes} did "
                                 f"not pass again:\n{run.stdout[-4000:]}")


class Drill:
    """Runs one scenario for one job: ``drill.run("test_restic_check_passes", "flux-backup@motoko")``.
    With a ``warm`` pytest, each run is a fork of it (the same pytest, without 2 s of imports)."""

    def __init__(self, tmp: Path, warm: WarmPytest | None = None, healed: Healed | None = None) -> None:
        self.tmp = tmp
        self.warm = warm
        self._healed = healed

    def healed(self, test: str, job_id: str) -> None:
        """The fault is healed: this scenario must pass again for this job. Checked at the end of
        the module, in one drill with every other scenario its tests healed (a run each would
        cost a pytest start and the hosts' probes every time)."""
        if self._healed is None:
            self.run(test, job_id).expect_pass()
        else:
            self._healed.scenarios[f"{scenario_node(test)}[{job_id}]"] = None

    def command(self, *args: str) -> list[str]:
        """A pytest run of the suite whose reports go to this test's temporary directory."""
        return [sys.executable, "-m", "pytest", *self.pytest_args(*args)]

    def pytest_args(self, *args: str) -> list[str]:
        """The arguments of ``command`` after ``python -m pytest``."""
        return [
            "-p",
            "no:cacheprovider",
            "-p",  # the unit tests' property-testing plugin: about 1 s of imports a run, unused here
            "no:hypothesispytest",
            f"--alluredir={self.tmp / 'allure'}",
            "--clean-alluredir",
            f"--evidence-dir={self.tmp / 'evidence'}",
            *args,
        ]

    def pytest(self, args: list[str], timeout: float, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
        """``pytest ARGS`` of the suite (reports to this test's directory), output captured."""
        if self.warm is not None:
            return self.warm.run(self.pytest_args(*args), timeout, env)
        return subprocess.run(self.command(*args), cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=env)

    def run_features(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The whole drill (``pytest features/ ARGS``), output captured."""
        return self.pytest(["features/", *args], 900, env)

    def leaks(self, run: subprocess.CompletedProcess[str], secrets: list[str]) -> list[tuple[str, str]]:
        """Where any secret value shows in a run's output or in any file it wrote (reports,
        attachments, evidence, JUnit): (where, the secret's first 4 characters)."""
        written = [p for p in self.tmp.rglob("*") if p.is_file()]
        haystacks = {"stdout": run.stdout, "stderr": run.stderr}
        haystacks |= {str(p): p.read_text(errors="replace") for p in written}
        return [(where, s[:4] + "...") for where, text in haystacks.items() for s in secrets if s in text]

    def run(
        self, test: str, job_id: str, inventory: Path | None = None, dns: bool = True,
        options: tuple[str, ...] = (),
    ) -> ScenarioRun:
        """One scenario for one job, e.g. ``run("test_restic_check_passes", "flux-backup@motoko")``;
        ``job_id`` "" runs it for every job. Without ``dns``, no name beyond /etc/hosts resolves;
        ``options`` go to pytest as they are (``--probe-timeout=5``)."""
        extra = [f"--inventory={inventory}"] if inventory is not None else []
        args = [scenario_node(test) + (f"[{job_id}]" if job_id else ""), "-q", "--tb=short", *extra,
                *options]
        if dns:
            proc = self.pytest(args, 600)
        else:  # a mount namespace of its own: a process apart, not a fork
            proc = subprocess.run(self.without_dns(self.command(*args)), cwd=ROOT, capture_output=True,
                                  text=True, timeout=600)
        return ScenarioRun(proc.returncode, proc.stdout + proc.stderr)

    def without_dns(self, command: list[str]) -> list[str]:
        """``command`` in a private mount namespace whose resolv.conf names 127.0.0.1, where no
        DNS server listens: a lookup beyond /etc/hosts fails on this machine and never leaves
        it. Needs root and unshare(1); the test is skipped without them."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", 53))
            except OSError:
                pytest.skip("cannot prove 127.0.0.1:53 is closed (in use, or not root)")
        if shutil.which("unshare") is None:
            pytest.skip("unshare(1) is missing")
        conf = self.tmp / "resolv.conf"
        conf.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(conf), *command]

    @staticmethod
    def job_doc(job: str) -> dict[str, Any]:
        """One job of the lab inventory, as its YAML says it."""
        doc: dict[str, Any] = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())["jobs"][job]
        return doc

    def inventory_with(self, job: str | None = None, host: str | None = None, **changes: object) -> Path:
        """A copy of the lab inventory with some keys of one job (or one host) changed."""
        doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
        section, name = ("jobs", job) if job is not None else ("hosts", host)
        doc[section][name].update(changes)
        path = self.tmp / "inventory.yml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
        return path


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its worker plugin registers last)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault tests of different hosts run side by side (``make test``: ``-n 2 --dist
    loadgroup``): a lab test marked ``touches(host)`` joins that host's xdist group, so the
    tests of one host run one after another on one worker. Any other lab test is ``alone``
    (whole drills, the object store, a stopped host): ``make test`` runs those in a pass of
    their own, all in one group (one after another), beside nothing but the unit tests. A test
    that marks more than one host itself (a drill of several hosts) is ``alone``: beside another
    host's group it would race that host's tests for its repositories' locks."""
    for item in items:
        if item.get_closest_marker("lab") is None:
            continue
        own = {marker.args[0] for marker in getattr(item, "own_markers", []) if marker.name == "touches"}
        touched = item.get_closest_marker("touches")
        if touched is not None and len(own) <= 1 and item.get_closest_marker("alone") is None:
            in_group(item, touched.args[0])
        else:
            item.add_marker(pytest.mark.alone)
            in_group(item, "alone")


def in_group(item: pytest.Item, group: str) -> None:
    """Put ``item`` in xdist's group ``group``: the ``@group`` suffix of its node ID is what
    ``--dist loadgroup`` schedules by. pytest-xdist 3.8 writes that suffix where pytest 9 no
    longer reads it (``_nodeid``; pytest 9 keeps the ID in ``_id``), so it is written here."""
    if hasattr(item, "_id"):  # pytest >= 9
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{group}")
    else:
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The lab, brought up (idempotent: seconds when it already runs). Under xdist the first
    worker brings it up and the others wait for it: a second bring-up beside running tests could
    put back the history a fault test has just taken away."""
    instance = Lab(log=lambda line: None)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    root = LabState.load_or_create().root
    with (root / "up.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        if not run or lock.read() != run:
            instance.up()
            lock.seek(0)
            lock.truncate()
            lock.write(run)
            lock.flush()
    return instance


@pytest.fixture(scope="session")
def warm() -> Iterator[WarmPytest]:
    """This test process's warm pytest (started at its first drill, stopped at the end)."""
    server = WarmPytest(ROOT)
    yield server
    server.close()


@pytest.fixture(scope="module")
def healed_scenarios(tmp_path_factory: pytest.TempPathFactory, lab: Lab, warm: WarmPytest
                     ) -> Iterator[Healed]:
    """What the module's tests healed; at its end, one drill proves it all passes again."""
    found = Healed()
    yield found
    found.verify(Drill(tmp_path_factory.mktemp("healed"), warm))


@pytest.fixture
def drill(tmp_path: Path, lab: Lab, warm: WarmPytest, healed_scenarios: Healed) -> Drill:
    return Drill(tmp_path, warm, healed_scenarios)


@dataclass(frozen=True)
class WholeRun:
    """A whole drill of the lab, run once a session and read by several tests: its output, and
    the ``drill`` whose directory holds what it wrote (Allure results, evidence, JUnit...)."""

    drill: Drill
    run: subprocess.CompletedProcess[str]

    @property
    def tmp(self) -> Path:
        return self.drill.tmp


@pytest.fixture(scope="session")
def one_failing_run(tmp_path_factory: pytest.TempPathFactory, lab: Lab, warm: WarmPytest) -> WholeRun:
    """The whole drill on two workers (``-n 2 -v -rA``) with flux-backup's RTO at 1 s, so exactly
    its restore fails, writing all it can: signed evidence (``keys/evidence.pub`` verifies it), a
    Prometheus textfile (``textfile/backup_drills.prom``), JUnit XML and Allure results. Every
    other scenario of every job passes in it: the session's whole drill of the healthy lab."""
    drill = Drill(tmp_path_factory.mktemp("one-failing-run"), warm)
    private, _ = keygen(drill.tmp / "keys")
    inventory = drill.inventory_with("flux-backup", rto="1s")
    run = drill.run_features("-n", "2", "-v", "-rA", f"--inventory={inventory}",
                             f"--junitxml={drill.tmp / 'junit.xml'}",
                             f"--sign-evidence={private}",
                             f"--prometheus-textfile={drill.tmp / 'textfile' / 'backup_drills.prom'}")
    return WholeRun(drill, run)


class LabHost:
    """A shell inside a lab host, as its operator (or its bad luck) would act."""

    def __init__(self, name: str) -> None:
        self.container = docker.from_env().containers.get(PREFIX + name)

    def sh(self, script: str, timeout: int = 300) -> str:
        return sh(self.container, script, timeout)

    def restic(self, words: str, timeout: int = 300) -> str:
        return self.sh(f"set -a; . /etc/miket/storage-credentials.env; set +a; restic {words}", timeout)

    def read(self, path: str) -> bytes | None:
        found = self.container.exec_run(["cat", path])
        return found.output if found.exit_code == 0 else None

    @contextmanager
    def keep(self, path: str) -> Iterator[None]:
        """Save a file (mode, mtime) outside any source tree; put it back, or remove it if it
        did not exist, whatever the test did."""
        saved = f"/root/fault-saved/{abs(hash(path))}"
        quoted = shlex.quote(path)
        self.sh(
            f"mkdir -p /root/fault-saved; rm -f {saved}; if [ -e {quoted} ]; then cp -p {quoted} {saved}; fi"
        )
        try:
            yield
        finally:
            self.sh(f"if [ -e {saved} ]; then mv -f {saved} {quoted}; else rm -f {quoted}; fi")


@pytest.fixture(scope="session")
def akira(lab: Lab) -> LabHost:
    return LabHost("akira")


@pytest.fixture(scope="session")
def motoko(lab: Lab) -> LabHost:
    return LabHost("motoko")


@pytest.fixture(scope="session")
def bucket(lab: Lab):  # type: ignore[no-untyped-def]
    """boto3 S3 client on the lab's object store, with the lab's admin identity."""
    return store_client(LabState.load_or_create().identities["admin"])


def index_packs(motoko: LabHost) -> Iterator[dict[str, Any]]:
    """Every pack entry of the flux repository's indexes (id, and blobs with type, offset,
    length)."""
    for index_id in motoko.restic("list index --no-lock").split():
        yield from json.loads(motoko.restic(f"cat index {index_id} --no-lock"))["packs"]


def packs_by_type(motoko: LabHost) -> dict[str, list[str]]:
    """Restic pack IDs of the flux repository, grouped by the blob type they hold."""
    grouped: dict[str, list[str]] = {"tree": [], "data": []}
    for pack in index_packs(motoko):
        kinds = {blob["type"] for blob in pack["blobs"]}
        if len(kinds) == 1:
            grouped[kinds.pop()].append(pack["id"])
    return grouped


def blob_location(motoko: LabHost, blob_id: str) -> tuple[str, int, int]:
    """(pack id, offset, length) of one blob of the flux repository, from its index."""
    for pack in index_packs(motoko):
        for blob in pack["blobs"]:
            if blob["id"] == blob_id:
                return pack["id"], blob["offset"], blob["length"]
    raise AssertionError(f"blob {blob_id} is in no index")


def latest_root_tree(motoko: LabHost) -> str:
    """The root tree of the latest /flux snapshot: every plain `restic check` reads it."""
    snapshots = json.loads(motoko.restic("snapshots --host motoko --path /flux --json --no-lock"))
    return str(max(snapshots, key=lambda snap: snap["time"])["tree"])


REPO_BUCKET, REPO_PREFIX = "backups-restic", "flux"  # the flux repository in the object store


def flip_one_byte(bucket, pack_id: str, position: int | None = None) -> bytes:
    """Flip one byte of a pack object in the bucket (by default in its middle); return the
    original."""
    key = f"{REPO_PREFIX}/data/{pack_id[:2]}/{pack_id}"
    original = bucket.get_object(Bucket=REPO_BUCKET, Key=key)["Body"].read()
    damaged = bytearray(original)
    damaged[len(damaged) // 2 if position is None else position] ^= 0xFF
    bucket.put_object(Bucket=REPO_BUCKET, Key=key, Body=bytes(damaged))
    return original


def put_back(bucket, pack_id: str, original: bytes) -> None:
    bucket.put_object(Bucket=REPO_BUCKET, Key=f"{REPO_PREFIX}/data/{pack_id[:2]}/{pack_id}", Body=original)
