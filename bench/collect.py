"""Collection benchmark: seconds and memory to collect a fleet's drill, by the path a user runs
(``pytest features/ --collect-only -q --inventory FILE``), at 1,000, 10,000 and 50,000 jobs.

Each inventory is the scale lab's (``lab.estate.fleet_inventory``: one host per job, one restic
job each, 17 scenarios a job, of which 16 run without ``--allow-writes``), written to a
temporary folder; no host is touched. Beside each size runs its floor: pytest collecting a
plain parametrised test with as many tests (17 modules, one test each, parametrised over the
jobs' IDs; cyclic garbage collection off while collecting, as the suite does; no plugin of the
suite), which is pytest's own cost per test, the part the suite cannot cut. The sizes and
their floors run interleaved, ``--rounds`` times, in one run, and each collection is a child
process of its own: its wall seconds, its CPU seconds (user + system, from ``wait4``: the
figure the machine's other load disturbs least) and its peak resident memory. A collection
that runs past ``--limit`` seconds is killed and reported as such. Medians are printed, the
suite against its floor, then the memory per 10,000 jobs.

    $ .venv/bin/python bench/collect.py              # part of `make bench`; needs no lab
    $ .venv/bin/python bench/collect.py --jobs 1000 2000 --rounds 1
    $ .venv/bin/python bench/collect.py --no-floor     # the suite alone
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GOAL_JOBS, GOAL_SECONDS = 50_000, 30.0
MiB = 1024 * 1024
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Collected:
    """One collection: wall and CPU seconds, peak resident MiB, the tests it collected
    (None: killed at the limit, or it failed), and its summary line."""

    jobs: int
    wall: float
    cpu: float
    peak_mib: float
    tests: int | None
    summary: str


def write_inventory(jobs: int, folder: Path) -> Path:
    """A fleet inventory of ``jobs`` hosts, one restic job each, as block YAML, written by a
    child process: this one stays small, and so does what each measured child inherits
    (Linux counts a child's memory before its ``exec`` in its peak)."""
    path = folder / f"fleet-{jobs}.yml"
    subprocess.run([sys.executable, __file__, "--write", str(jobs), str(path)], cwd=ROOT, check=True,
                   timeout=600)
    return path


def _write(jobs: int, path: Path) -> None:
    from lab.estate import fleet_inventory

    ssh_config = str(path.parent / "ssh_config")  # never read: collection touches no host
    path.write_text(yaml.dump(fleet_inventory(jobs, ssh_config), Dumper=_DUMPER,
                              allow_unicode=True, sort_keys=False))


FEATURES = 17  # the floor's modules: as many as features/ holds
FLOOR_CONFTEST = """\
import gc

import pytest

IDS = [f"workspace-ws{i}@ws{i}" for i in range(1, JOBS + 1)]


class Job:  # a parameter object per job, as the suite's tests each take one
    def __init__(self, id):
        self.id = id


PARAMS = [Job(i) for i in IDS]


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):  # as the suite: no cyclic collection while collecting
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()


def pytest_generate_tests(metafunc):
    if "fleet_job" in metafunc.fixturenames:
        metafunc.parametrize("fleet_job", PARAMS, ids=IDS)
"""


def write_floor(jobs: int, folder: Path) -> Path:
    """The floor of ``jobs``: ``FEATURES`` test modules of one test each, parametrised over the
    jobs' IDs (``jobs`` x ``FEATURES`` tests, the suite's count within the scenarios that apply
    to no job)."""
    floor = folder / f"floor-{jobs}"
    floor.mkdir()
    (floor / "conftest.py").write_text(f"JOBS = {jobs}\n" + FLOOR_CONFTEST)
    for number in range(FEATURES):
        (floor / f"test_feature_{number}.py").write_text("def test_scenario(fleet_job):\n    pass\n")
    return floor


def collect(jobs: int, inventory: Path, limit: float, out: Path, floor: Path | None = None) -> Collected:
    """``pytest features/ --collect-only -q`` on ``inventory`` in a child process, measured;
    killed (its whole process group) when it runs past ``limit`` seconds. With ``floor``: that
    folder's plain parametrised tests instead, without the suite's plugin."""
    command = [sys.executable, "-m", "pytest", "features/", "--collect-only", "-q",
               "-p", "no:cacheprovider", "-p", "no:hypothesispytest", f"--inventory={inventory}"]
    if floor is not None:
        command = [sys.executable, "-m", "pytest", str(floor), "--collect-only", "-q",
                   "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:backup_drills",
                   f"--rootdir={floor}"]
    log = out / f"collect-{jobs}{'-floor' if floor else ''}.log"
    started = time.perf_counter()
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=floor or ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        killed = False
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - started > limit and not killed:
                    os.killpg(process.pid, signal.SIGKILL)
                    killed = True
                time.sleep(0.05)
        except BaseException:  # the benchmark itself stopped: its child goes too
            os.killpg(process.pid, signal.SIGKILL)
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024 / MiB  # Linux: KiB
    with log.open("rb") as output:  # its last line only: 800,000 test IDs kept in this process
        output.seek(max(0, log.stat().st_size - 4096))  # would be in the next child's peak
        lines = output.read().decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else ""
    if killed:
        return Collected(jobs, wall, cpu, peak, None, f"killed after {limit:.0f}s")
    if process.returncode != 0:
        return Collected(jobs, wall, cpu, peak, None, f"exit {process.returncode}: {last[-300:]}")
    tests = int(last.split("/")[0].split()[0]) if last[:1].isdigit() else None
    return Collected(jobs, wall, cpu, peak, tests, last)


def per_10k(runs: dict[int, list[Collected]]) -> str | None:
    """The peak memory's growth per 10,000 jobs from the smallest size to the largest."""
    sizes = sorted(jobs for jobs, done in runs.items() if done)
    if len(sizes) < 2:
        return None
    small, large = sizes[0], sizes[-1]
    grown = max(r.peak_mib for r in runs[large]) - max(r.peak_mib for r in runs[small])
    return f"{grown / (large - small) * 10_000:.0f} MiB per 10,000 jobs (from {small:,} to {large:,} jobs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=600.0,
                        help="seconds a collection may take before it is killed (default 600)")
    parser.add_argument("--no-floor", action="store_true",
                        help="leave out the floor (pytest alone on as many plain tests)")
    parser.add_argument("--write", nargs=2, metavar=("JOBS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        _write(int(args.write[0]), Path(args.write[1]))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed benchmark kills its child
    results: dict[int, list[Collected]] = {jobs: [] for jobs in args.jobs}
    floors: dict[int, list[Collected]] = {jobs: [] for jobs in args.jobs}
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as folder:
        tmp = Path(folder)
        inventories = {jobs: write_inventory(jobs, tmp) for jobs in args.jobs}
        floor_dirs = {} if args.no_floor else {jobs: write_floor(jobs, tmp) for jobs in args.jobs}
        for round_no in range(1, args.rounds + 1):
            for jobs in args.jobs:
                kinds: list[tuple[str, dict[int, list[Collected]], Path | None]] = [
                    ("suite", results, None)]
                if jobs in floor_dirs:
                    kinds.append(("floor", floors, floor_dirs[jobs]))
                for what, into, floor in kinds:
                    done = collect(jobs, inventories[jobs], args.limit, tmp, floor)
                    into[jobs].append(done)
                    print(f"[bench] round {round_no}: {jobs:>6} jobs, {what}: {done.wall:6.1f}s wall, "
                          f"{done.cpu:6.1f}s CPU, peak {done.peak_mib:6.0f} MiB  {done.summary}",
                          flush=True)
    finished = {jobs: [r for r in runs if r.tests is not None] for jobs, runs in results.items()}
    floored = {jobs: [r for r in runs if r.tests is not None] for jobs, runs in floors.items()}
    print(f"\n| jobs | tests collected | wall s (median of {args.rounds}) | CPU s (median) "
          "| CPU ms / job | peak MiB (max) | MiB / 10,000 jobs | floor: wall s | floor: CPU s "
          "| floor: peak MiB | CPU / floor |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for jobs, runs in results.items():
        ended, floor_runs = finished[jobs], floored[jobs]
        if floor_runs:
            floor_cpu = statistics.median(r.cpu for r in floor_runs)
            floor_cells = (f"{statistics.median(r.wall for r in floor_runs):.1f} | {floor_cpu:.1f} "
                           f"| {max(r.peak_mib for r in floor_runs):.0f}")
        else:
            floor_cpu, floor_cells = 0.0, "- | - | -"
        if not ended:
            print(f"| {jobs:,} | {runs[0].summary} | - | - | - | - | - | {floor_cells} | - |")
            continue
        wall, cpu = statistics.median(r.wall for r in ended), statistics.median(r.cpu for r in ended)
        peak = max(r.peak_mib for r in ended)
        ratio = f"{cpu / floor_cpu:.2f}x" if floor_cpu else "-"
        print(f"| {jobs:,} | {ended[0].tests:,} | {wall:.1f} | {cpu:.1f} | {cpu / jobs * 1000:.2f} "
              f"| {peak:.0f} | {peak / jobs * 10_000:.0f} | {floor_cells} | {ratio} |")
    grown = per_10k(finished)
    if grown:
        floor_grown = per_10k(floored)
        print(f"\nMemory: {grown} more, over the process's fixed base"
              + (f"; the floor: {floor_grown}." if floor_grown else "."))
    if GOAL_JOBS in results:
        runs = finished[GOAL_JOBS]
        seconds = f"{statistics.median(r.wall for r in runs):.1f}s" if runs else "not finished"
        beside = (f"; the floor, pytest alone on as many plain tests: "
                  f"{statistics.median(r.wall for r in floored[GOAL_JOBS]):.1f}s wall, "
                  f"{statistics.median(r.cpu for r in floored[GOAL_JOBS]):.1f} CPU-s"
                  if floored[GOAL_JOBS] else "")
        spent = f", {statistics.median(r.cpu for r in runs):.1f} CPU-s" if runs else ""
        print(f"{GOAL_JOBS:,} jobs collected in **{seconds}** wall{spent} (goal: under "
              f"{GOAL_SECONDS:.0f}s){beside}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
