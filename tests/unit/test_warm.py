"""The fault tests' warm pytest: a fork per drill must behave as ``python -m pytest`` would, in
exit code, output, working directory and environment, and a drill that overruns is killed with
what it started."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.warm import WarmPytest

TESTS = """\
import os
import subprocess
import time
from pathlib import Path


def test_sees_its_folder_and_environment():
    print("cwd", Path.cwd().name, "flavour", os.environ["WARM_FLAVOUR"])
    assert Path("test_sample.py").exists()


def test_fails():
    assert 1 == 2


def test_hangs():
    child = subprocess.Popen(["sleep", "300"])
    Path("sleeper.pid").write_text(str(child.pid))
    time.sleep(300)
"""


def test_a_warm_run_gives_the_exit_code_output_and_environment_a_cold_one_would(tmp_path):
    (tmp_path / "test_sample.py").write_text(TESTS)
    warm = WarmPytest(tmp_path)
    try:
        env = {**os.environ, "WARM_FLAVOUR": "vanilla"}
        args = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-s", "-q", "-k", "sees or fails"]
        first = warm.run(args, timeout=60, env=env)
        again = warm.run(["-p", "no:cacheprovider", "-q", "-k", "sees"], timeout=60,
                         env={**env, "WARM_FLAVOUR": "mint"})
    finally:
        warm.close()
    assert first.returncode == 1, first.stdout
    assert f"cwd {tmp_path.name} flavour vanilla" in first.stdout
    assert "1 failed, 1 passed" in first.stdout
    assert "assert 1 == 2" in first.stdout
    assert again.returncode == 0, again.stdout
    assert "1 passed" in again.stdout


def test_a_drill_that_overruns_is_killed_with_what_it_started(tmp_path):
    (tmp_path / "test_sample.py").write_text(TESTS)
    warm = WarmPytest(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            warm.run(["-p", "no:cacheprovider", "-q", "-k", "hangs"], timeout=5)
        took = time.monotonic() - started
        sleeper = int((tmp_path / "sleeper.pid").read_text())
        after = warm.run(["-p", "no:cacheprovider", "-q", "-k", "sees"], timeout=60,
                         env={**os.environ, "WARM_FLAVOUR": "x"})
    finally:
        warm.close()
    assert took < 30
    time.sleep(0.2)
    stat = Path(f"/proc/{sleeper}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z", "the drill's sleep 300 lives on"
    assert after.returncode == 0, after.stdout  # the server lives on
