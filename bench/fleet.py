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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lab.estate import Lab, fleet_inventory
from lab.state import LabState

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2.5


def drill(inventory: Path, out: Path, *extra: str) -> float:
    """Seconds of one whole drill; exits the benchmark when the drill does not pass."""
    command = [sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider",
               f"--inventory={inventory}", f"--alluredir={out / 'allure'}", "--clean-alluredir",
               f"--evidence-dir={out / 'evidence'}", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"[bench] the drill failed (exit {done.returncode}):\n{done.stdout[-4000:]}")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    print(f"[bench]   {seconds:6.1f}s  {summary}", flush=True)
    return seconds


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
        single: list[float] = []
        parallel: list[float] = []
        for round_no in range(1, args.rounds + 1):
            print(f"[bench] round {round_no}: 1 host, serial", flush=True)
            single.append(drill(one, tmp / "one"))
            print(f"[bench] round {round_no}: {args.hosts} hosts, -n {args.workers}", flush=True)
            parallel.append(drill(fleet, tmp / "fleet", "-n", str(args.workers)))
    one_host, all_hosts = statistics.median(single), statistics.median(parallel)
    ratio = all_hosts / one_host
    print(f"\n| drill (median of {args.rounds}, same lab, same run) | seconds |\n|---|---|")
    print(f"| 1 workspace host, serial | {one_host:.1f} |")
    print(f"| {args.hosts} workspace hosts, -n {args.workers} | {all_hosts:.1f} |")
    print(f"\nFleet ratio ({args.hosts} hosts at -n {args.workers} / 1 host): **{ratio:.2f}x** "
          f"(target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
