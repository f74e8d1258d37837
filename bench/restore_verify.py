"""Benchmark: the suite's restore drill against the bare tools, side by side in one run.

On the lab's workspace host (motoko) it seeds ``/bench-data`` (10,000+ files, > 1 GiB), backs it
up once to the lab repository, then runs each variant ``--rounds`` times, interleaved, and prints
median times and two ratios:

  verification  = suite's hash_tree(source)        / plain `sha256sum` over the same files
  whole drill   = suite's RestoreDrill.restic_latest / (bare `restic restore` + `sha256sum` of
                  the restored tree + `sha256sum` of the source, one after the other)

    $ make bench                  # or: .venv/bin/python bench/restore_verify.py --rounds 3
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from drills.adapters.restic import Restic
from drills.core.transport import Remote
from drills.inventory.schema import Job, load_inventory
from drills.restores.manifest import hash_tree
from drills.restores.scratch import scratch_dir
from drills.restores.trees import RestoreDrill

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "/bench-data"
PLAIN_SHA = "cd {root} && find . -type f -print0 | xargs -0 -r sha256sum > /dev/null"


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def prepare(remote: Remote, job: Job) -> None:
    print(f"[bench] seeding {SOURCE} on {remote.name} (idempotent)", flush=True)
    seeded = remote.run(f"/usr/local/lib/drill-lab/seed.py bench {SOURCE}", timeout=1800,
                        check=True).text
    size = remote.run(f"du -sb {SOURCE} | cut -f1; find {SOURCE} -type f | wc -l", check=True)
    total, files = (int(x) for x in size.text.split())
    print(f"[bench] tree: {files} files, {total / 2**30:.2f} GiB", flush=True)
    if not seeded.startswith("seeded 0 ") or Restic(remote, job).latest_snapshot() is None:
        print("[bench] backing up the tree (once, or after it grew)", flush=True)
        remote.run(remote.with_credentials(["restic", "-r", str(job.repository), "backup",
                                            SOURCE, "--host", "motoko", "--quiet"]),
                   timeout=3600, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inventory = load_inventory(ROOT / "inventory/lab.yml")
    flux = inventory.jobs["flux-backup"]
    job = flux.model_copy(update={"name": "bench", "source": SOURCE, "excludes": ()})
    remote = Remote(inventory.hosts[flux.host], timeout=3600)
    prepare(remote, job)
    restic = Restic(remote, job)
    snapshot = restic.latest_snapshot()
    assert snapshot is not None

    def bare_drill() -> None:
        with scratch_dir(remote, job) as target:
            restic.restore(snapshot, target)
            remote.run(PLAIN_SHA.format(root=shlex.quote(target + SOURCE)), timeout=3600)
            remote.run(PLAIN_SHA.format(root=SOURCE), timeout=3600)

    def suite_drill() -> None:
        outcome = RestoreDrill(remote, job).latest()
        if not outcome.comparison.identical or outcome.comparison.compared < 10000:
            raise SystemExit(outcome.comparison.describe())

    variants: dict[str, Callable[[], object]] = {
        "plain sha256sum (source)": lambda: remote.run(PLAIN_SHA.format(root=SOURCE), timeout=3600),
        "suite verification (source)": lambda: hash_tree(remote, SOURCE),
        "bare restore + sha256sum both trees": bare_drill,
        "suite restore drill": suite_drill,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    timed(variants["plain sha256sum (source)"])  # warm the page cache for every variant alike
    for round_no in range(1, args.rounds + 1):
        for name, action in variants.items():
            samples[name].append(timed(action))
            print(f"[bench] round {round_no}: {name}: {samples[name][-1]:.2f}s", flush=True)
    median = {name: statistics.median(values) for name, values in samples.items()}
    print("\nmedian of", args.rounds, "rounds, same host, same run:")
    for name, value in median.items():
        print(f"  {name:40} {value:8.2f}s")
    verify = median["suite verification (source)"] / median["plain sha256sum (source)"]
    drill = median["suite restore drill"] / median["bare restore + sha256sum both trees"]
    print(f"\nverification ratio (suite / plain sha256sum):         {verify:.2f}x  (target <= 1.25x)")
    print(f"whole drill ratio (suite / bare restore + hashing):   {drill:.2f}x  (target <= 1.30x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
