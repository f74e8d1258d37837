"""The throwaway OS user that reads backup content on a host: the scratch servers (PostgreSQL,
Redis, ClickHouse) and every tool that reads a dump run as it. It is made for one restore and
removed after it on every path; neither root nor the database's owner, with no home, no shell
and no password, so whatever a hostile backup makes a tool do, it does with the rights of an
empty account. A user left by a killed run is swept by the next restore on that host.

    >>> with throwaway_user(remote, job) as user:                       # doctest: +SKIP
    ...     remote.run(as_user(user, argv("pg_restore", "--list", dump)))
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from backup_drills.adapters.restic import RestoreFailed
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv, script
from backup_drills.inventory.schema import Job
from backup_drills.restores.scratch import PREFIX, RUNNER, _leftover, home_of

NAME = re.compile(r"drill-[0-9a-f]{10}")


def as_user(user: str, command: str) -> str:
    """``command`` (shell text, its values quoted) run as ``user``:
    ``as_user("drill-0a1b2c3d4e", argv("id", "-u"))`` is ``runuser -u drill-0a1b2c3d4e -- id -u``."""
    return f"{argv('runuser', '-u', user, '--')} {command}"


def sweep_users(remote: Remote) -> list[str]:
    """Remove the throwaway users killed runs left on the host (their label is a scratch label
    of this runner whose process is gone, or older than a day); return their names."""
    listing = remote.run(argv("awk", "-F:", "$1 ~ /^drill-/ {print $1 \":\" $5}", "/etc/passwd"),
                         timeout=30, privileged=remote.host.sudo != "exact")  # world-readable
    now = time.time()
    stale = [name for name, _, label in (line.partition(":") for line in listing.text.splitlines())
             if NAME.fullmatch(name) and _leftover(label, now)]
    for name in stale:
        remote.run(script("throwaway-user", "remove", name), timeout=60)
    return stale


@contextmanager
def throwaway_user(remote: Remote, job: Job) -> Iterator[str]:
    """Make a throwaway user on the host (after sweeping leftovers); remove it whatever happens."""
    sweep_users(remote)
    name = f"drill-{secrets.token_hex(5)}"
    label = f"{PREFIX}{RUNNER}-{os.getpid()}-{int(time.time())}-{secrets.token_hex(3)}"
    made = remote.run(script("throwaway-user", "add", name, label), timeout=60)
    if not made.ok:
        raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: could not make the throwaway "
                               f"user {name} for the scratch server: {made.tail(3)}")
    try:
        yield name
    finally:
        remote.run(script("throwaway-user", "remove", name), timeout=60)


def hand_over(remote: Remote, who: str, target: str, path: str, name: str, user: str) -> str:
    """Move a file fetched into scratch (``path``, inside the run folder ``target``) into the
    throwaway ``user``'s home beside the run folder (``home_of(target)``) as ``name``, readable
    only by it; return its new path. A file that is not a regular file inside scratch (a
    symlink out of it, a device) is refused.

    >>> hand_over(remote, "host h, job j", run, f"{run}/srv/x.dump", "dump", user)  # doctest: +SKIP
    '/var/lib/backup-drills/scratch/drill-r-1-2-ab-home/dump'
    """
    home = home_of(target)
    moved = remote.run(script("scratch-hand-over", target, path, home, name, user), timeout=300)
    if moved.exit_status == 4:
        raise RestoreFailed(f"{who}: refusing to restore {path.removeprefix(target)}: "
                            f"{moved.tail(1).replace(target, '')}")
    if not moved.ok:
        raise DrillCouldNotRun(f"{who}: could not hand {path} to the throwaway user: {moved.tail(3)}")
    return f"{home}/{name}"
