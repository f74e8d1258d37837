"""Shards of a drill for fleets beyond one runner: ``--shard i/n`` drills the hosts of the i-th
of n parts, every job of a host in the same part.

Hosts are balanced by their expected drill time: each job's last measured restore time from the
evidence history plus a baseline per job (without history, the baseline alone: the number of
jobs). The longest host goes first, each to the part with the least work so far, ties by name:
the same inventory and history always give the same parts, on every runner of the matrix.

    >>> parse_shard("2/3")
    (2, 3)
    >>> balanced({"a": 60.0, "b": 30.0, "c": 25.0, "d": 5.0}, 2)
    {'a': 1, 'b': 2, 'c': 2, 'd': 2}
"""

from __future__ import annotations

import re

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """``i/n`` (1-based) as (i, n); a ValueError naming what was expected otherwise."""
    found = _SHARD.match(text.strip())
    if found is None or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise ValueError(f"expected i/n with 1 <= i <= n, such as 2/3; got {text!r}")
    return int(found.group(1)), int(found.group(2))


def balanced(weights: dict[str, float], count: int) -> dict[str, int]:
    """Each host's shard (1-based), the heaviest hosts first, each to the lightest shard."""
    load = [0.0] * count
    chosen: dict[str, int] = {}
    for host in sorted(weights, key=lambda h: (-weights[h], h)):
        lightest = min(range(count), key=lambda i: (load[i], i))
        load[lightest] += weights[host]
        chosen[host] = lightest + 1
    return dict(sorted(chosen.items()))


BASELINE_SECONDS = 5.0  # a job's cost before any history: probes, reads, checks


def host_weights(jobs_by_host: dict[str, list[str]], past: dict[str, float]) -> dict[str, float]:
    """A host's expected drill time: each job's last measured drill (or restore) seconds, plus a
    baseline per job."""
    return {host: sum(BASELINE_SECONDS + past.get(job, 0.0) for job in jobs)
            for host, jobs in jobs_by_host.items()}


def assign(jobs_by_host: dict[str, list[str]], count: int, past: dict[str, float]) -> dict[str, int]:
    """Each host's shard, balanced by expected drill time."""
    return balanced(host_weights(jobs_by_host, past), count)
