"""Fleet benchmark: the wall time of drilling N workspace hosts in parallel (``-n 4``) divided
by the wall time of drilling one of them, measured side by side in one run.

It brings the lab up with N workspace hosts (``drill-lab up --hosts N``: each its own small
``/flux`` and restic repository), then, ``--rounds`` times, runs the whole drill
(``pytest features/``: restore, repository, schedule and marker scenarios of each host's job)
against one host, serially, and against all N at ``-n WORKERS``; it prints the median of each and
their ratio. Target: at most 2.5x for 16 hosts at ``-n 4``.

    $ make bench      # or: .venv/bin/python bench/fleet.py --hosts 16 --workers 4 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml

from lab.estate import Lab, fleet_inventory
from lab.state import LabState

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2.5


@dataclass(frozen=True)
class Measure:
    """One drill: wall seconds, CPU seconds of the runner (pytest and its workers) and of the
    lab's containers (the estate: sshd, restic, hashing on the hosts)."""

    wall: float
    runner_cpu: float
    estate_cpu: float


def estate_cpu_seconds(client: docker.DockerClient) -> float:
    """CPU seconds used so far by every lab container (Docker's one-shot stats)."""
    containers = client.containers.list(filters={"label": "drill-lab"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        stats = pool.map(lambda c: c.stats(stream=False, one_shot=True), containers)
        return sum(s["cpu_stats"]["cpu_usage"]["total_usage"] for s in stats) / 1e9


def drill(client: docker.DockerClient, inventory: Path, out: Path, *extra: str) -> Measure:
    """One whole drill, measured; exits the benchmark when the drill does not pass."""
    # hypothesis is a dev dependency of this project only: its plugin (1.3 s per process) is
    # not loaded where operators drill, so it is not loaded here either
    command = [sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider",
               "-p", "no:hypothesispytest",
               f"--inventory={inventory}", f"--alluredir={out / 'allure'}", "--clean-alluredir",
               f"--evidence-dir={out / 'evidence'}", *extra]
    estate_before = estate_cpu_seconds(client)
    runner_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    runner_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    estate = estate_cpu_seconds(client) - estate_before
    runner = (runner_after.ru_utime + runner_after.ru_stime
              - runner_before.ru_utime - runner_before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"[bench] the drill failed (exit {done.returncode}):\n{done.stdout[-4000:]}")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    print(f"[bench]   {wall:6.1f}s wall, CPU {runner:5.1f}s runner + {estate:5.1f}s estate  "
          f"{summary}", flush=True)
    return Measure(wall, runner, estate)


def median(measures: list[Measure]) -> Measure:
    return Measure(*(statistics.median(getattr(m, f) for m in measures)
                     for f in ("wall", "runner_cpu", "estate_cpu")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"[bench] lab up with {args.hosts} workspace hosts (idempotent)", flush=True)
    Lab(log=lambda line: print(f"[lab] {line}", flush=True)).up(fleet=args.hosts)
    ssh_config = str(LabState.load_or_create().ssh_config)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder:
        tmp = Path(folder)
        one, fleet = tmp / "one.yml", tmp / "fleet.yml"
        one.write_text(yaml.safe_dump(fleet_inventory(1, ssh_config), allow_unicode=True))
        fleet.write_text(yaml.safe_dump(fleet_inventory(args.hosts, ssh_config), allow_unicode=True))
        single: list[Measure] = []
        parallel: list[Measure] = []
        client = docker.from_env(timeout=120)
        for round_no in range(1, args.rounds + 1):
            print(f"[bench] round {round_no}: 1 host, serial", flush=True)
            single.append(drill(client, one, tmp / "one"))
            print(f"[bench] round {round_no}: {args.hosts} hosts, -n {args.workers}", flush=True)
            parallel.append(drill(client, fleet, tmp / "fleet", "-n", str(args.workers)))
    one_host, all_hosts = median(single), median(parallel)
    cores = os.cpu_count() or 1
    print(f"\n| drill (median of {args.rounds}, same lab, same run) | wall s | runner CPU s "
          f"| estate CPU s | CPU floor on {cores} cores, s |\n|---|---|---|---|---|")
    for name, m in (("1 workspace host, serial", one_host),
                    (f"{args.hosts} workspace hosts, -n {args.workers}", all_hosts)):
        floor = (m.runner_cpu + m.estate_cpu) / cores
        print(f"| {name} | {m.wall:.1f} | {m.runner_cpu:.1f} | {m.estate_cpu:.1f} | {floor:.1f} |")
    print(f"\nFleet ratio ({args.hosts} hosts at -n {args.workers} / 1 host): "
          f"**{all_hosts.wall / one_host.wall:.2f}x** (target <= {TARGET}x). The lab's hosts share "
          f"this machine's {cores} cores: the CPU floor is the wall time no scheduling can beat here.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
