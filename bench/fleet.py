"""Fleet benchmark: how close a fleet drill comes to the work that cannot be avoided, and what
the runner itself costs per host, measured side by side in one run.

It grows the lab's workspace hosts (``drill-lab up --hosts N``: each its own small ``/flux`` and
restic repository) and drills, with ``pytest features/`` (every scenario of each host's restic
job: restore, repository, schedule, marker):

- one host, serially (the unit of work);
- the fleet, ``--hosts`` hosts at ``-n --workers``: its wall time against its CPU floor, the
  runner's and the estate's CPU seconds over this machine's cores (goal: at most 1.15x);
- a large, light fleet, ``--large`` hosts at ``-n --large-workers``, and the time to build the
  Allure report over all its results.

For each it prints wall time, runner CPU seconds (pytest, its workers and their ssh clients),
estate CPU seconds (the lab's containers), the runner's peak memory (all its processes at once),
and per host drilled: runner CPU and memory. The last line says what one more host costs the
runner, from the two fleets. The lab's workspace hosts are put back as found.

    $ make bench      # or: .venv/bin/python bench/fleet.py --hosts 16 --workers 4 --large 48
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import psutil
import yaml

from lab.estate import Lab, fleet_inventory
from lab.state import LabState

ROOT = Path(__file__).resolve().parents[1]
FLOOR_GOAL = 1.15
MiB = 1024 * 1024


@dataclass(frozen=True)
class Measure:
    """One drill: wall seconds, CPU seconds of the runner (pytest, its workers, their ssh
    clients) and of the lab's containers (sshd, restic, hashing on the hosts), and the runner's
    peak memory (MiB, all its processes at once)."""

    hosts: int
    wall: float
    runner_cpu: float
    estate_cpu: float
    peak_mib: float

    def floor(self, cores: int) -> float:
        """The wall time no scheduling can beat here: all CPU seconds spread over the cores."""
        return (self.runner_cpu + self.estate_cpu) / cores


def estate_cpu_seconds(client: docker.DockerClient) -> float:
    """CPU seconds used so far by every lab container (Docker's one-shot stats)."""
    containers = client.containers.list(filters={"label": "drill-lab"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        stats = pool.map(lambda c: c.stats(stream=False, one_shot=True), containers)
        return float(sum(s["cpu_stats"]["cpu_usage"]["total_usage"] for s in stats)) / 1e9


class PeakMemory:
    """Samples the resident memory of a process and all its descendants every ``every``
    seconds, keeping the highest sum: ``with PeakMemory(pid) as peak: ...; peak.mib``."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.root, self.every, self.peak = psutil.Process(pid), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                for process in [self.root, *self.root.children(recursive=True)]:
                    try:
                        total += process.memory_info().rss
                    except psutil.Error:  # ended between the listing and the reading
                        continue
            except psutil.Error:
                return
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        return self.peak / MiB


def drill(client: docker.DockerClient, hosts: int, inventory: Path, out: Path, *extra: str) -> Measure:
    """One whole drill, measured; exits the benchmark when the drill does not pass."""
    # hypothesis is a dev dependency of this project only: its plugin (about 1 s a process) is
    # not loaded where operators drill, so it is not loaded here either
    command = [sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider",
               "-p", "no:hypothesispytest",
               f"--inventory={inventory}", f"--alluredir={out / 'allure'}", "--clean-alluredir",
               f"--evidence-dir={out / 'evidence'}", *extra]
    estate_before = estate_cpu_seconds(client)
    runner_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process, PeakMemory(process.pid) as peak:
        try:
            output, _ = process.communicate(timeout=1800)
        except subprocess.TimeoutExpired:
            process.kill()
            sys.exit(f"[bench] the drill of {hosts} host(s) ran past 30 minutes: stopped")
    wall = time.perf_counter() - started
    runner_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    estate = estate_cpu_seconds(client) - estate_before
    runner = (runner_after.ru_utime + runner_after.ru_stime
              - runner_before.ru_utime - runner_before.ru_stime)
    if process.returncode != 0:
        sys.exit(f"[bench] the drill failed (exit {process.returncode}):\n{output[-4000:]}")
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    print(f"[bench]   {wall:6.1f}s wall, CPU {runner:5.1f}s runner + {estate:5.1f}s estate, "
          f"runner peak {peak.mib:5.0f} MiB  {summary}", flush=True)
    return Measure(hosts, wall, runner, estate, peak.mib)


def report_seconds(results: Path, out: Path) -> float:
    """Seconds to build the Allure report over one drill's results (``drill-evidence report``)."""
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "drill-evidence"), "report", "--results", str(results),
                    "--out", str(out / "html"), "--history", str(out / "history.jsonl")],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    index = out / "html" / "index.html"
    if not index.is_file() or index.stat().st_size == 0:
        sys.exit(f"[bench] the report over {results} was not built: no {index}")
    count = len(list(results.glob("*-result.json")))
    print(f"[bench] report over {count} results: {index.stat().st_size / MiB:.1f} MiB in {seconds:.1f}s",
          flush=True)
    return seconds


def median(measures: list[Measure]) -> Measure:
    return Measure(measures[0].hosts, *(statistics.median(getattr(m, f) for m in measures)
                                        for f in ("wall", "runner_cpu", "estate_cpu", "peak_mib")))


def rounds_of(client: docker.DockerClient, hosts: int, rounds: int, tmp: Path, ssh_config: str,
              *extra: str) -> Measure:
    """The median of ``rounds`` drills of the first ``hosts`` workspace hosts."""
    inventory = tmp / f"fleet-{hosts}.yml"
    inventory.write_text(yaml.safe_dump(fleet_inventory(hosts, ssh_config), allow_unicode=True))
    measures = []
    for round_no in range(1, rounds + 1):
        print(f"[bench] round {round_no}: {hosts} host(s) {' '.join(extra) or 'serial'}", flush=True)
        measures.append(drill(client, hosts, inventory, tmp / f"fleet-{hosts}", *extra))
    return median(measures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--large", type=int, default=48, help="hosts of the large, light fleet (0: none)")
    parser.add_argument("--large-workers", type=int, default=8)
    args = parser.parse_args()
    lab = Lab(log=lambda line: print(f"[lab] {line}", flush=True))
    found = len(lab.fleet_names())
    most = max(args.hosts, args.large)
    print(f"[bench] lab up with {most} workspace hosts (found {found}; put back at the end)", flush=True)
    started = time.perf_counter()
    lab.up(fleet=most)
    print(f"[bench] lab up in {time.perf_counter() - started:.0f}s", flush=True)
    ssh_config = str(LabState.load_or_create().ssh_config)
    client = docker.from_env(timeout=120)
    cores = os.cpu_count() or 1
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder:
            tmp = Path(folder)
            one = rounds_of(client, 1, args.rounds, tmp, ssh_config)
            fleet = rounds_of(client, args.hosts, args.rounds, tmp, ssh_config, "-n", str(args.workers))
            large, report = None, 0.0
            if args.large:
                large = rounds_of(client, args.large, 1, tmp, ssh_config, "-n", str(args.large_workers))
                report = report_seconds(tmp / f"fleet-{args.large}" / "allure", tmp / "report")
    finally:
        print(f"[bench] putting the lab back to {found} workspace hosts", flush=True)
        lab.up(fleet=found)
    print(f"\n| drill (same lab, same run) | wall s | runner CPU s | estate CPU s "
          f"| CPU floor on {cores} cores, s | wall / floor | runner peak MiB "
          f"| runner CPU s / host | runner MiB / host |\n|---|---|---|---|---|---|---|---|---|")
    rows = [("1 workspace host, serially", one, args.rounds),
            (f"{args.hosts} workspace hosts, -n {args.workers}", fleet, args.rounds)]
    if large is not None:
        rows.append((f"{args.large} workspace hosts, -n {args.large_workers}", large, 1))
    for name, m, rounds in rows:
        print(f"| {name} (median of {rounds}) | {m.wall:.1f} | {m.runner_cpu:.1f} | {m.estate_cpu:.1f} "
              f"| {m.floor(cores):.1f} | {m.wall / m.floor(cores):.2f}x | {m.peak_mib:.0f} "
              f"| {m.runner_cpu / m.hosts:.2f} | {m.peak_mib / m.hosts:.1f} |")
    ratio = fleet.wall / fleet.floor(cores)
    print(f"\nFleet of {args.hosts} at -n {args.workers}: wall / CPU floor **{ratio:.2f}x** "
          f"(goal <= {FLOOR_GOAL}x); against one host {fleet.wall / one.wall:.2f}x.")
    if large is not None:
        per_cpu = (large.runner_cpu - fleet.runner_cpu) / (large.hosts - fleet.hosts)
        per_estate = (large.estate_cpu - fleet.estate_cpu) / (large.hosts - fleet.hosts)
        print(f"Large fleet of {args.large} at -n {args.large_workers}: wall / CPU floor "
              f"**{large.wall / large.floor(cores):.2f}x**; the report over its results built in "
              f"**{report:.1f}s**.")
        print(f"One more host costs the runner **{per_cpu:.2f} CPU s** (the estate {per_estate:.2f}), "
              f"from {args.hosts} to {args.large} hosts; the runner's peak memory is "
              f"{large.peak_mib:.0f} MiB at -n {args.large_workers} ({args.large_workers + 1} pytest "
              f"processes), {large.peak_mib / (args.large_workers + 1):.0f} MiB a process.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
