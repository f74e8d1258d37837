"""Faults of the estate and of the run itself: a drill killed mid-restore, a host that stops
answering mid-run. Sources stay intact, scratch is swept, the rest of the run goes on."""

import os
import signal
import subprocess
import time

import pytest

from tests.faults.conftest import ROOT, scenario_node

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

FULL = "test_the_latest_snapshot_restores_byteidentical_within_the_rto"
SCRATCH = "/var/tmp/backup-drill"
DIGEST = "cd /flux && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum"


def test_a_run_killed_mid_restore_leaves_sources_intact_and_scratch_to_the_next_run(drill, motoko):
    before = motoko.sh(DIGEST)
    run = subprocess.Popen(
        drill.command(f"{scenario_node(FULL)}[flux-backup@motoko]", "-v"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    mine = f"{SCRATCH}/drill-*-{run.pid}-*"
    leftover = ""
    deadline = time.monotonic() + 60
    while not leftover and time.monotonic() < deadline:  # wait until the restore writes
        leftover = motoko.sh(f"find {mine} -mindepth 1 -maxdepth 1 2>/dev/null | head -n 1")
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    assert leftover, "the drill never started restoring"
    killed_scratch = leftover.strip().split("/")[4]
    assert killed_scratch in motoko.sh(f"ls {SCRATCH}")  # SIGKILL left it behind

    drill.run(FULL, "flux-backup@motoko").expect_pass()

    assert killed_scratch not in motoko.sh(f"ls -A {SCRATCH}")  # swept at the next start
    assert motoko.sh(DIGEST) == before


@pytest.mark.alone  # stops a host and drills two
def test_a_host_that_stops_mid_run_is_named_unreachable_and_the_run_goes_on(drill, lab, akira):
    run = subprocess.Popen(
        drill.command("features/", "-v", "-rA", "-k", "akira or miraclemax"),  # one stops, one stays
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        assert run.stdout is not None
        for line in run.stdout:
            lines.append(line)
            if " PASSED " in line and akira.container.status == "running":
                # mid-run, after the first finished drill; the run is paused meanwhile so that
                # the drills after it meet a host that is down, not one shutting down
                os.kill(run.pid, signal.SIGSTOP)
                akira.container.stop(timeout=5)
                akira.container.reload()
                os.kill(run.pid, signal.SIGCONT)
        run.wait(timeout=600)
    finally:
        run.stdout.close()
        akira.container.start()
        lab.up()
    output = "".join(lines)
    failed = [line for line in lines if line.startswith("FAILED ")]
    passed = [line for line in lines if line.startswith("PASSED ")]
    assert run.returncode == 2, output  # could not run, as opposed to 1: not compliant
    assert failed, output
    reports = [line for line in lines if line.startswith(("COULD NOT RUN: ", "NOT COMPLIANT: "))]
    assert len(reports) == len(failed), output
    assert all("@akira]" in line for line in failed), output
    # a host going down mid-command may fail it in several ways; all are "could not run"
    assert all(line.startswith("COULD NOT RUN: ") and "host akira" in line for line in reports), output
    assert any("host akira unreachable" in line for line in reports), output
    stayed = [line for line in lines if "@miraclemax] " in line and "::" in line and "%]" in line]
    assert stayed, output
    assert sum("@miraclemax]" in line for line in passed) == len(stayed), output  # all of them
    assert "NOT COMPLIANT" not in output
