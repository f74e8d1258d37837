"""``make test`` runs the fault tests of different lab hosts side by side: the tests of one host
must share one xdist worker, or two faults on one host meet. pytest-xdist 3.8 alone does not keep
its groups under pytest 9; tests/faults/conftest.py does."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """\
from tests.faults.conftest import pytest_collection_modifyitems  # noqa: F401


def pytest_configure(config):
    for name in ("lab", "touches(host)", "alone"):
        config.addinivalue_line("markers", name)
"""

TESTS = """\
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab


def ran(name):
    folder = Path(__file__).parent / "ran"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}-{os.environ['PYTEST_XDIST_WORKER']}").touch()


@pytest.mark.touches("alpha")
@pytest.mark.parametrize("i", range(6))
def test_alpha(i):
    ran(f"alpha{i}")


@pytest.mark.parametrize("i", [pytest.param(i, marks=pytest.mark.touches("beta")) for i in range(6)])
def test_beta(i):
    ran(f"beta{i}")


@pytest.mark.alone
@pytest.mark.touches("alpha")
@pytest.mark.parametrize("i", range(3))
def test_alone(i):
    ran(f"alone{i}")


@pytest.mark.parametrize("i", range(3))
def test_lonely(i):  # no touches: alone
    ran(f"alone{i + 3}")


def test_unit():  # no lab: any worker, in either pass
    ran("unit")
"""


def ran_on(tmp_path: Path, *options: str) -> dict[str, set[str]]:
    """Run the tests above with ``options`` on two workers: which tests (by name, without their
    number) ran on which workers."""
    shutil.rmtree(tmp_path / "ran", ignore_errors=True)
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", *options,
                          "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stdout + run.stderr
    workers: dict[str, set[str]] = {}
    for path in (tmp_path / "ran").iterdir():
        name, worker = path.name.split("-")
        workers.setdefault(name.rstrip("0123456789"), set()).add(worker)
    return workers


def test_the_fault_tests_of_one_host_run_on_one_worker_and_alone_ones_are_left_out(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_hosts.py").write_text(TESTS)
    workers = ran_on(tmp_path, "-m", "not alone and lab")
    assert sorted(workers) == ["alpha", "beta"], workers  # the alone tests wait for their own pass
    assert all(len(seen) == 1 for seen in workers.values()), workers


def test_the_alone_tests_run_one_after_another_beside_the_unit_tests(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_hosts.py").write_text(TESTS)
    workers = ran_on(tmp_path, "-m", "alone or not lab")
    assert sorted(workers) == ["alone", "unit"], workers
    assert len(workers["alone"]) == 1, workers  # all six on one worker
