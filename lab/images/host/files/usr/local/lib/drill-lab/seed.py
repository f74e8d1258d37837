#!/usr/bin/python3
"""Deterministic, realistic seed trees for the lab hosts (part of the estate, not the suite).

The same profile always yields the same names, sizes and bytes: thousands of small files, a few
large ones, nested directories, names with spaces and non-ASCII characters, empty files and
symlinks. Existing files are left alone, so seeding is idempotent.

    seed.py space /space     # akira's source of record
    seed.py flux /flux       # motoko's workspace
    seed.py bench /flux/bench --files 10000 --large-mb 1024
"""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    dirs: tuple[str, ...]
    files: int
    large: int
    large_mb: int
    seed: int


PROFILES = {
    "space": Profile(("mike/documents", "mike/photos/2024", "projects/archive-2023", "media",
                      "datasets/sensors", "archives/cold", "_services/nextcloud/config",
                      "_services/nextcloud/db-snapshots", "_ops/backups/restore-tests"),
                     files=2400, large=2, large_mb=24, seed=1),
    "flux": Profile(("active/project-alpha/src", "active/project-beta/notebooks",
                     "active/project alpha (copy)", "scratch/tmp", "models/checkpoints"),
                    files=3000, large=3, large_mb=20, seed=2),
    "miraclemax": Profile(("homeassistant-config/.storage", "n8n-data/workflows",
                           "grafana-dashboards/provisioning", "homeassistant-config/automations",
                           "n8n-data/credentials", "actual-data/budgets"), files=600, large=1,
                          large_mb=2, seed=5),
    "bench": Profile(("a", "b/c", "d/e/f", "g"), files=10000, large=9, large_mb=120, seed=3),
}
ODD_NAMES = ["Quarterly report (final).txt", "naïve café – notes.txt", "日本語のメモ.txt",
             "two  spaces.txt", "-leading-dash.txt", "semi;colon & ampersand.txt",
             "Ünïcödé Ordner/inner file.txt", "UPPER.TXT", ".hidden"]


def write(path: str, data: bytes) -> bool:
    if os.path.lexists(path):
        return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return True


def seed(profile: str, root: str, files: int | None, large_mb: int | None) -> int:
    spec = PROFILES[profile]
    rng = random.Random(spec.seed)
    count = files if files is not None else spec.files
    dirs = [os.path.join(root, d) for d in spec.dirs]
    made = 0
    for index in range(count):
        where = dirs[index % len(dirs)]
        depth = rng.randrange(3)
        sub = os.path.join(where, *(f"d{rng.randrange(8)}" for _ in range(depth)))
        size = 0 if index % 97 == 0 else int(rng.expovariate(1 / 6000))
        made += write(os.path.join(sub, f"file-{index:05d}.dat"), rng.randbytes(size))
    for index, name in enumerate(ODD_NAMES):
        made += write(os.path.join(dirs[index % len(dirs)], name),
                      f"odd name {index}: {name}\n".encode())
    mb = large_mb if large_mb is not None else spec.large_mb
    for index in range(spec.large):
        made += write(os.path.join(dirs[-1], f"large-{index}.bin"), rng.randbytes(mb << 20))
    link = os.path.join(dirs[0], "latest-link")
    if not os.path.lexists(link):
        os.symlink("file-00000.dat", link)
        os.symlink(os.path.relpath(dirs[1], dirs[0]), os.path.join(dirs[0], "dir-link"))
    os.makedirs(os.path.join(dirs[0], "empty-dir"), exist_ok=True)
    return made


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", choices=sorted(PROFILES))
    parser.add_argument("root")
    parser.add_argument("--files", type=int)
    parser.add_argument("--large-mb", type=int)
    args = parser.parse_args()
    print(f"seeded {seed(args.profile, args.root, args.files, args.large_mb)} new files "
          f"under {args.root}")
