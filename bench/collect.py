"""Collection benchmark: seconds and memory to collect a fleet's drill, by the path a user runs
(``pytest features/ --collect-only -q --inventory FILE``), at 1,000, 10,000 and 50,000 jobs.

Each inventory is the scale lab's (``lab.estate.fleet_inventory``: one host per job, one restic
job each, 17 scenarios a job, of which 16 run without ``--allow-writes``), written to a
temporary folder; no host is touched. The sizes run interleaved, ``--rounds`` times, in one
run, and each collection is a child process of its own: its wall seconds, its CPU seconds
(user + system, from ``wait4``: the figure the machine's other load disturbs least) and its
peak resident memory. A collection that runs past ``--limit`` seconds is killed and reported
as such. Medians are printed, then the memory per 10,000 jobs.

    $ .venv/bin/python bench/collect.py              # part of `make bench`; needs no lab
    $ .venv/bin/python bench/collect.py --jobs 1000 2000 --rounds 1
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


def collect(jobs: int, inventory: Path, limit: float, out: Path) -> Collected:
    """``pytest features/ --collect-only -q`` on ``inventory`` in a child process, measured;
    killed (its whole process group) when it runs past ``limit`` seconds."""
    command = [sys.executable, "-m", "pytest", "features/", "--collect-only", "-q",
               "-p", "no:cacheprovider", "-p", "no:hypothesispytest", f"--inventory={inventory}"]
    log = out / f"collect-{jobs}.log"
    started = time.perf_counter()
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=120.0,
                        help="seconds a collection may take before it is killed (default 120)")
    parser.add_argument("--write", nargs=2, metavar=("JOBS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        _write(int(args.write[0]), Path(args.write[1]))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed benchmark kills its child
    results: dict[int, list[Collected]] = {jobs: [] for jobs in args.jobs}
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as folder:
        tmp = Path(folder)
        inventories = {jobs: write_inventory(jobs, tmp) for jobs in args.jobs}
        for round_no in range(1, args.rounds + 1):
            for jobs in args.jobs:
                done = collect(jobs, inventories[jobs], args.limit, tmp)
                results[jobs].append(done)
                print(f"[bench] round {round_no}: {jobs:>6} jobs: {done.wall:6.1f}s wall, "
                      f"{done.cpu:6.1f}s CPU, peak {done.peak_mib:6.0f} MiB  {done.summary}", flush=True)
    print(f"\n| jobs | tests collected | wall s (median of {args.rounds}) | CPU s (median) "
          f"| CPU ms / job | peak MiB (max) | MiB / 10,000 jobs |\n|---|---|---|---|---|---|---|")
    for jobs, runs in results.items():
        ended = [r for r in runs if r.tests is not None]
        if not ended:
            print(f"| {jobs:,} | {runs[0].summary} | - | - | - | - | - |")
            continue
        wall, cpu = statistics.median(r.wall for r in ended), statistics.median(r.cpu for r in ended)
        peak = max(r.peak_mib for r in ended)
        print(f"| {jobs:,} | {ended[0].tests:,} | {wall:.1f} | {cpu:.1f} | {cpu / jobs * 1000:.2f} "
              f"| {peak:.0f} | {peak / jobs * 10_000:.0f} |")
    finished = {jobs: [r for r in runs if r.tests is not None] for jobs, runs in results.items()}
    sizes = sorted(jobs for jobs, runs in finished.items() if runs)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        grown = (max(r.peak_mib for r in finished[large]) - max(r.peak_mib for r in finished[small]))
        print(f"\nMemory: {grown / (large - small) * 10_000:.0f} MiB per 10,000 jobs more (from "
              f"{small:,} to {large:,} jobs), over the process's fixed base.")
    if GOAL_JOBS in results:
        runs = finished[GOAL_JOBS]
        seconds = f"{statistics.median(r.wall for r in runs):.1f}s" if runs else "not finished"
        print(f"{GOAL_JOBS:,} jobs collected in **{seconds}** wall (goal: under {GOAL_SECONDS:.0f}s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
