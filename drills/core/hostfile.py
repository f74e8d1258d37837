"""Small files the estate writes, read on their host as root without trusting their folder.

A status marker, a metrics textfile or a restore-test result is written by the estate's own
jobs, and whoever can write it or its folder could put a symbolic link to ``/etc/shadow`` at its
place: ``cat`` as root would read the secret into the drill's output and evidence. The
``read-file`` helper (``drills/scripts/read-file.sh``) refuses a link, a FIFO or a device and
a file with a second hard link, opens the file ``O_NOFOLLOW|O_NONBLOCK`` (GNU ``dd``, Debian
12's and 13's coreutils) and reads at most ``cap`` bytes; it also tells the folder's mode, so a
folder any user may write is named in a warning:

    >>> found = read_file(remote, "/space/_ops/data-estate/markers/b2_mirror.json")  # doctest: +SKIP
    >>> found.problem                                                                # doctest: +SKIP
    'is a symlink: not read (the drill never follows a link at that place)'
"""

from __future__ import annotations

from dataclasses import dataclass

from backup_drills.core.transport import Remote, script

MISSING, REFUSED = 44, 45  # read-file.sh's exit statuses: no such file, refused (reason on stderr)
CAP = 64 * 1024  # a marker or a restore-test result: a few hundred bytes in the runbook's schema
TEXTFILE_CAP = 1024 * 1024  # a node-exporter textfile


@dataclass(frozen=True)
class HostFile:
    """One file as the drill found it: its bytes, or why they were not read (``problem``), and
    a ``warning`` about its folder."""

    host: str
    path: str
    exists: bool
    data: bytes = b""
    problem: str | None = None
    warning: str | None = None


def folder_warning(path: str, line: str) -> str | None:
    """A warning when the folder of ``path`` (``MODE UID GID`` as ``stat`` printed it) may be
    written by others than root and its owner: any local user, or a group other than root's.

    >>> folder_warning("/m/a.json", "1777 0 0")
    'the folder /m is writable by any local user (mode 1777): anyone there can replace /m/a.json'
    >>> folder_warning("/m/a.json", "755 0 0") is None
    True
    """
    try:
        mode, _, gid = (int(line.split()[0], 8), *map(int, line.split()[1:3]))
    except (ValueError, IndexError):
        return f"the mode of {path}'s folder could not be read ({line[:40]!r})"
    folder = path.rsplit("/", 1)[0] or "/"
    if mode & 0o002:
        who = "any local user"
    elif mode & 0o020 and gid != 0:
        who = f"group {gid}"
    else:
        return None
    return f"the folder {folder} is writable by {who} (mode {mode:o}): anyone there can replace {path}"


def _found(host: str, path: str, exit_status: int, stdout: bytes, stderr: str, cap: int) -> HostFile:
    if exit_status == MISSING:
        return HostFile(host, path, False)
    if exit_status == REFUSED:
        reason = (stderr.strip().splitlines() or ["refused"])[-1]
        return HostFile(host, path, True, problem=f"{reason}: not read (the drill never follows a "
                        "link at that place, nor reads anything but a regular file with one name)")
    if exit_status != 0:
        tail = "\n".join((stderr.strip() or "no message").splitlines()[-2:])
        return HostFile(host, path, True, problem=f"unreadable: {tail}")
    head, _, data = stdout.partition(b"\n")
    warning = folder_warning(path, head.decode("ascii", errors="replace"))
    if len(data) > cap:
        return HostFile(host, path, True, problem=f"is larger than {cap // 1024} KiB: not read",
                        warning=warning)
    return HostFile(host, path, True, data, None, warning)


def read_file(remote: Remote, path: str, cap: int = CAP) -> HostFile:
    """``path`` on the host: at most ``cap`` bytes of a regular file, never through a link."""
    result = remote.run(script("read-file", path, str(cap)))
    return _found(remote.name, path, result.exit_status, result.stdout, result.stderr, cap)


def read_newest(remote: Remote, folder: str, cap: int = CAP) -> HostFile:
    """The newest ``*.json`` of ``folder`` by its own modification time (a link's own: a newer
    link is refused, not passed over); a folder without any is ``exists=False`` and its path
    ``FOLDER/*.json``."""
    folder = folder.rstrip("/") or "/"
    result = remote.run(script("read-file", "-newest", folder, str(cap)))
    path, nul, rest = result.stdout.partition(b"\0")
    if not nul:
        path, rest = f"{folder}/*.json".encode(), result.stdout
    return _found(remote.name, path.decode("utf-8", errors="surrogateescape"), result.exit_status,
                  rest, result.stderr, cap)
