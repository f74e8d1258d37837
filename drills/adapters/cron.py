"""Cron entries: find the line that starts a job, compare its schedule, run it on demand.

System crontabs (``/etc/crontab``, ``/etc/cron.d/*``) carry a user field; a user's own crontab
(``/var/spool/cron/crontabs/<user>``) does not. Variable lines (``SHELL=/bin/sh``) and comments
are skipped, except that the last ``CRON_TZ=`` before a line is kept with it (``cron_tz``): cronie
runs the lines after it in that zone, Debian's cron ignores it (crontab(5), LIMITATIONS: the
daemon's zone for every line; ``TZ=`` reaches only the commands).

    >>> entries = parse_crontab("/etc/cron.d/x", "SHELL=/bin/sh\\n0 2 * * * root /usr/local/sbin/b\\n")
    >>> entries[0].schedule, entries[0].user, entries[0].command, entries[0].line
    ('0 2 * * *', 'root', '/usr/local/sbin/b', 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from backup_drills.core.transport import DrillCouldNotRun, Remote, Result, argv
from backup_drills.inventory.schema import Cron

_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


@dataclass(frozen=True)
class CronEntry:
    file: str
    line: int
    schedule: str
    user: str
    command: str
    cron_tz: tuple[int, str] | None = None  # the CRON_TZ= line in effect: (line, zone)


def parse_crontab(path: str, text: str) -> list[CronEntry]:
    """The entries of one crontab file (system format unless it is a user's spool file)."""
    spool_user = PurePosixPath(path).name if "/var/spool/cron" in path else None
    entries = []
    cron_tz: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        variable = _VARIABLE.match(line)
        if variable and variable.group(1) == "CRON_TZ":
            value = variable.group(2).strip().strip("'\"")
            cron_tz = (number, value) if value else None
        if not line or line.startswith("#") or variable:
            continue
        if line.startswith("@"):
            nick, _, rest = line.partition(" ")
            schedule, rest = nick, rest.strip()
        else:
            fields = line.split(None, 5)
            if len(fields) < 6:
                continue
            schedule, rest = " ".join(fields[:5]), fields[5]
        if spool_user is None:
            user, _, rest = rest.partition(" ")
        else:
            user = spool_user
        entries.append(CronEntry(path, number, schedule, user, rest.strip(), cron_tz))
    return entries


def entries_for(remote: Remote, cron: Cron) -> list[CronEntry]:
    """The lines of ``cron.file`` whose command runs ``cron.command``."""
    read = remote.run(argv("cat", "--", cron.file))
    if not read.ok:
        return []
    return [entry for entry in parse_crontab(cron.file, read.text)
            if cron.command in entry.command]


def daemon_running(remote: Remote) -> bool:
    return remote.run("pgrep -x cron >/dev/null || pgrep -x crond >/dev/null", privileged=False).ok


def run_now(remote: Remote, cron: Cron, timeout: float) -> Result:
    """Run the job's cron line now, as its user, the way cron would (``sh -c``)."""
    found = entries_for(remote, cron)
    if not found:
        raise DrillCouldNotRun(f"host {remote.name}: no line in {cron.file} runs {cron.command}")
    entry = found[0]
    words: tuple[str, ...] = ("sh", "-c", entry.command)
    if entry.user != "root":
        words = ("runuser", "-u", entry.user, "--", *words)
    return remote.run(argv(*words), timeout=timeout)
