"""Benchmark: the suite's restore drill against the bare tools, side by side in one run.

On the lab's workspace host (motoko) it seeds a bench tree (``/bench-data``: 10,018 files,
1.11 GiB; with ``--scale N``, ``/bench-data-xN``: N times the files and N times each large file),
backs it up once to the lab repository, then runs each variant ``--rounds`` times, interleaved,
and prints median times, the three ratios, and the drill's cost per GiB:

  P1  = suite's hash_tree(source)        / plain single-threaded `sha256sum` over the same files
  P2  = suite's RestoreDrill.latest()     / (bare `restic restore` + `sha256sum` of the restored
                                             tree + `sha256sum` of the source, one after the other)
  P2f = suite's RestoreDrill.latest()     / bare `restic restore` alone (the drill's floor)

and, measured around each suite drill: drill seconds per GiB, the runner's CPU seconds per GiB
(this process and its children: the ssh clients), the host's CPU seconds per GiB (its
container's, from Docker: restic, sshd, hashing). ``--dump`` adds ``restic dump --archive tar``
of the tree into ``wc -c`` (the streaming alternative to a restore, measured, not used). The
load average is printed beside the figures: the machine is shared.

    $ make bench                  # or: .venv/bin/python bench/restore_verify.py --rounds 3
    $ .venv/bin/python bench/restore_verify.py --rounds 1 --scale 10   # 11 GiB, opt-in
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backup_drills.adapters.restic import Restic
from backup_drills.core.transport import Remote, argv
from backup_drills.inventory.schema import Job, load_inventory
from backup_drills.restores.manifest import hash_tree
from backup_drills.restores.scratch import scratch_dir
from backup_drills.restores.trees import RestoreDrill

ROOT = Path(__file__).resolve().parents[1]
HOST = "motoko"
BASE_FILES, BASE_LARGE_MB = 10000, 120  # seed.py's bench profile
PLAIN_SHA = "cd {root} && find . -type f -print0 | xargs -0 -r sha256sum > /dev/null"
DUMP = 'restic -r "$0" --no-lock dump --archive tar "$1" "$2" | wc -c'
GOALS = {"P1": 0.55, "P2": 0.65, "P2f": 1.15}


@dataclass(frozen=True)
class Cost:
    """One suite drill: wall seconds, CPU seconds of the runner and of the host, and where its
    wall time went: the restore itself, the hashing of the restored tree after it."""

    wall: float
    runner_cpu: float
    host_cpu: float
    restore: float
    hash_restored: float


def runner_cpu() -> float:
    """CPU seconds of this process and its finished children (the ssh clients)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def host_cpu(container: str) -> float:
    """CPU seconds the host's container has used so far (Docker's one-shot stats)."""
    import docker  # the lab's extra, as bench/fleet.py

    stats = docker.from_env().containers.get(container).stats(stream=False, one_shot=True)
    return float(stats["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def seed_command(source: str, scale: int) -> str:
    """The lab's seed.py bench profile; scaled, N times its small files and nine large files N
    times 120 MiB from /dev/urandom (seed.py draws at most 256 MiB a file), each made once."""
    if scale == 1:
        return f"/usr/local/lib/drill-lab/seed.py bench {shlex.quote(source)}"
    large = (f'for i in 0 1 2 3 4 5 6 7 8; do f="$0/g/huge-$i.bin"; [ -e "$f" ] && continue; '
             f'head -c {BASE_LARGE_MB * scale}M /dev/urandom > "$f.part" && mv "$f.part" "$f" '
             '&& made=$((made + 1)); done')
    return (f"/usr/local/lib/drill-lab/seed.py bench {shlex.quote(source)} --files "
            f"{BASE_FILES * scale} --large-mb 1 && "
            + argv("sh", "-c", f"made=0; {large}; echo \"seeded $made large files\"", source))


def prepare(remote: Remote, job: Job, scale: int) -> tuple[int, int]:
    """Seed the tree (idempotent) and back it up once; its (files, bytes)."""
    source = str(job.source)
    print(f"[bench] seeding {source} on {remote.name} (idempotent)", flush=True)
    seeded = remote.run(seed_command(source, scale), timeout=3600 * scale, check=True).text
    size = remote.run(f"du -sb {shlex.quote(source)} | cut -f1; find {shlex.quote(source)} -type f "
                      "| wc -l", check=True)
    total, files = (int(x) for x in size.text.split())
    print(f"[bench] tree: {files} files, {total / 2**30:.2f} GiB", flush=True)
    made = sum(int(count) for count in re.findall(r"^seeded (\d+) ", seeded, re.MULTILINE))
    if made or Restic(remote, job).latest_snapshot() is None:
        print("[bench] backing up the tree (once, or after it grew)", flush=True)
        remote.run(remote.with_credentials(["restic", "-r", str(job.repository), "backup",
                                            source, "--host", HOST, "--quiet"]),
                   timeout=3600 * scale, check=True)
    return files, total


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1,
                        help="the tree N times the files and large files' size (10: 11 GiB)")
    parser.add_argument("--dump", action="store_true",
                        help="also time restic dump --archive tar of the tree (streaming)")
    args = parser.parse_args()
    inventory = load_inventory(ROOT / "inventory/lab.yml")
    flux = inventory.jobs["flux-backup"]
    source = "/bench-data" if args.scale == 1 else f"/bench-data-x{args.scale}"
    job = flux.model_copy(update={"name": "bench", "source": source, "excludes": ()})
    remote = Remote(inventory.hosts[flux.host], timeout=3600 * args.scale)
    files, size = prepare(remote, job, args.scale)
    gib = size / 2**30
    restic = Restic(remote, job)
    snapshot = restic.latest_snapshot()
    assert snapshot is not None
    limit = 3600 * args.scale
    plain = PLAIN_SHA.format(root=shlex.quote(source))
    costs: list[Cost] = []

    def bare_restore() -> None:
        with scratch_dir(remote, job) as target:
            restic.restore(snapshot, target)

    def bare_drill() -> None:
        with scratch_dir(remote, job) as target:
            restic.restore(snapshot, target)
            remote.run(PLAIN_SHA.format(root=shlex.quote(target + source)), timeout=limit)
            remote.run(plain, timeout=limit)

    def suite_drill() -> None:
        cpu, host, started = runner_cpu(), host_cpu(f"drill-lab-{HOST}"), time.perf_counter()
        outcome = RestoreDrill(remote, job).latest()
        wall = time.perf_counter() - started
        costs.append(Cost(wall, runner_cpu() - cpu, host_cpu(f"drill-lab-{HOST}") - host,
                          outcome.restore_seconds, outcome.drill_seconds - outcome.restore_seconds))
        if not outcome.comparison.identical or outcome.comparison.compared < files:
            raise SystemExit(outcome.comparison.describe())

    def dump() -> None:
        result = remote.run(remote.with_credentials(
            ["sh", "-c", DUMP, str(job.repository), snapshot.id, source], job),
            timeout=limit)
        if not result.ok or int(result.text.split()[0]) < size:
            raise SystemExit(f"restic dump: {result.tail(4)}")

    variants: dict[str, Callable[[], object]] = {
        "plain sha256sum (source)": lambda: remote.run(plain, timeout=limit),
        "suite verification (source)": lambda: hash_tree(remote, source, timeout=limit),
        "bare restore alone": bare_restore,
        "bare restore + sha256sum both trees": bare_drill,
        "suite restore drill": suite_drill,
    }
    if args.dump:
        variants["restic dump --archive tar | wc -c"] = dump
    samples: dict[str, list[float]] = {name: [] for name in variants}
    loads = [load()]
    timed(variants["plain sha256sum (source)"])  # warm the page cache for every variant alike
    began = time.perf_counter()
    for round_no in range(1, args.rounds + 1):
        for name, action in variants.items():
            samples[name].append(timed(action))
            print(f"[bench] round {round_no}: {name}: {samples[name][-1]:.2f}s (load {load()})",
                  flush=True)
        loads.append(load())
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"\n{source} on {HOST}: {files} files, {gib:.2f} GiB; median of {args.rounds} "
          f"round(s), same host, same run, {time.perf_counter() - began:.0f} s in all; "
          f"load average (1, 5, 15 min) at start and after each round: {' | '.join(loads)} "
          f"on {os.cpu_count()} cores")
    for name, value in median.items():
        print(f"  {name:40} {value:8.2f}s")
    ratios = {
        "P1": median["suite verification (source)"] / median["plain sha256sum (source)"],
        "P2": median["suite restore drill"] / median["bare restore + sha256sum both trees"],
        "P2f": median["suite restore drill"] / median["bare restore alone"],
    }
    words = {"P1": "suite verification / plain sha256sum",
             "P2": "whole drill / bare restore + hashing",
             "P2f": "whole drill / bare restore alone"}
    print()
    for key, ratio in ratios.items():
        verdict = "met" if ratio <= GOALS[key] else "NOT met"
        print(f"{key:4} {words[key]:40} {ratio:5.2f}x  (goal <= {GOALS[key]}x: {verdict})")
    cost = Cost(*(statistics.median(getattr(c, f) for c in costs) for f in Cost.__dataclass_fields__))
    print(f"drill: {cost.wall / gib:.2f} s/GiB wall, runner CPU {cost.runner_cpu / gib:.3f} s/GiB, "
          f"host CPU {cost.host_cpu / gib:.2f} s/GiB (median of {len(costs)})")
    print(f"where the drill's {cost.wall:.2f} s went: its restore {cost.restore:.2f} s (the source "
          f"hashed meanwhile), then the restored tree hashed {cost.hash_restored:.2f} s, the rest "
          f"{cost.wall - cost.restore - cost.hash_restored:.2f} s (snapshot, restore size, room, "
          "scratch, comparison)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
