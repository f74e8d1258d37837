"""Exact escalation (``sudo: exact``): one absolute program with plain arguments per sudo.

On a ``sudo: true`` host a privileged command runs as ``sudo -n timeout ... sh -c SCRIPT``: its
sudoers line is root for anything. On a ``sudo: exact`` host the transport escalates only one
program of ``PROGRAMS`` with the command's own words, or one of the package's shell helpers
installed on the host under ``HELPERS`` (named after its content's digest, pinned by that digest
in sudoers), and keeps ``timeout`` outside sudo, running as the drilling user (sudo relays the
signal to the program):

    >>> exact_words("restic -r /srv/r snapshots", 30)
    ['timeout', '-k', '5', '30', 'sudo', '-n', '--', '/usr/bin/restic', '-r', '/srv/r', 'snapshots']

``backup_drills.inventory.sudoers`` writes the sudoers file that allows exactly these commands for an
inventory's jobs, from the same table: a program the drill escalates is one this module names.
"""

from __future__ import annotations

import hashlib
import shlex

# every program the drill escalates on a ``sudo: exact`` host, where Debian 12 and 13 have it
PROGRAMS = {
    "restic": "/usr/bin/restic",
    "borg": "/usr/bin/borg",
    "rclone": "/usr/bin/rclone",
    "find": "/usr/bin/find",
    "realpath": "/usr/bin/realpath",
    "mkdir": "/usr/bin/mkdir",
    "rm": "/usr/bin/rm",
    "stat": "/usr/bin/stat",
    "du": "/usr/bin/du",
    "hostname": "/usr/bin/hostname",
    "journalctl": "/usr/bin/journalctl",
    "cat": "/usr/bin/cat",
    "kill": "/usr/bin/kill",
    # as a throwaway user only (``drill-`` and ten hex digits): a program that reads backup
    # content, pinned with its options by sudoers (backup_drills.inventory.sudoers)
    "runuser": "/usr/sbin/runuser",
}
# the variables a command may set for its program (``env NAME=VALUE... PROGRAM``): each is set
# in the drilling user's shell, before sudo, and the sudoers file keeps exactly this value
# (``env_keep+="NAME=VALUE"``: sudo drops the variable when it holds any other)
KEPT_ENV = {"TZ": "UTC", "BORG_RELOCATED_REPO_ACCESS_IS_OK": "no"}
# where the operator installs the drill's shell helpers (``backup-drills sudoers --helpers``)
HELPERS = "/usr/local/lib/backup-drills"
_QUIET = (" 2>/dev/null", " >/dev/null")  # a command's own redirections, kept outside sudo


class NotExact(ValueError):
    """A privileged command that is neither one program with plain words nor a known helper."""


def helper_text(code: str) -> str:
    """A helper's file as installed: its code, with ``#!/bin/sh`` first if it has none.

    >>> helper_text('cat -- "$1"')
    '#!/bin/sh\\ncat -- "$1"\\n'
    """
    text = code if code.startswith("#!") else f"#!/bin/sh\n{code}"
    return text if text.endswith("\n") else f"{text}\n"


def helper_digest(code: str) -> str:
    """The sha256 (hex) of a helper's installed file: sudoers pins it."""
    return hashlib.sha256(helper_text(code).encode()).hexdigest()


def helper_path(name: str, code: str) -> str:
    """Where the helper ``name`` of this ``code`` is installed: its digest in the name, so a
    changed helper is a different program, which an older sudoers file does not allow.

    >>> helper_path("read-marker", "cat").startswith("/usr/local/lib/backup-drills/read-marker-")
    True
    """
    return f"{HELPERS}/{name}-{helper_digest(code)[:12]}"


def _words(script: str, words: tuple[str, ...] | None) -> tuple[str, ...]:
    if words is None:
        words = tuple(shlex.split(script))
        if shlex.join(words) != script:
            raise NotExact(f"not one program with plain arguments: {script[:120]}")
    return words


def kept_env(words: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """``env NAME=VALUE... PROGRAM WORDS``: the assignments (each one of ``KEPT_ENV``, with its
    value) and the program's words; words without ``env`` are returned as they are. ``env``'s
    options (``-C DIR``: a helper changes directory instead) are not exact.

    >>> kept_env(("env", "TZ=UTC", "borg", "list"))
    (['TZ=UTC'], ('borg', 'list'))
    """
    if not words or words[0] != "env":
        return [], words
    assignments: list[str] = []
    for at, word in enumerate(words[1:], 1):
        if word.startswith("-"):
            raise NotExact(f"env {word}: not a variable `sudo: exact` keeps (a helper changes directory)")
        if "=" not in word:
            return assignments, words[at:]
        name, value = word.split("=", 1)
        if KEPT_ENV.get(name) != value:
            raise NotExact(f"env {name}=...: not a variable `sudo: exact` keeps "
                           f"({', '.join(f'{k}={v}' for k, v in KEPT_ENV.items())})")
        assignments.append(word)
    raise NotExact("env with no program")


def escalated(script: str, words: tuple[str, ...] | None = None) -> list[str]:
    """The program and words sudo runs for ``script``: ``words`` when the transport knows them
    (a command with credentials: sudoers' ``env_file`` loads those), a helper for
    ``sh -c CODE NAME ARGS...``, else the script's own words, which must be one program of
    ``PROGRAMS`` and quoted as ``argv`` quotes them (no pipe, no ``;``, no expansion); a leading
    ``env`` with ``KEPT_ENV`` assignments is left to ``exact_words``."""
    _, words = kept_env(_words(script, words))
    if len(words) >= 4 and words[:2] == ("sh", "-c"):
        return [helper_path(words[3], words[2]), *words[4:]]
    if not words or words[0] not in PROGRAMS:
        raise NotExact(f"{words[0] if words else 'nothing'} is not a program `sudo: exact` "
                       f"escalates ({', '.join(sorted(PROGRAMS))}, or a helper)")
    return [PROGRAMS[words[0]], *words[1:]]


def exact_words(script: str, limit: int, words: tuple[str, ...] | None = None) -> list[str]:
    """``[NAME=VALUE...] timeout -k 5 LIMIT sudo -n -- PROGRAM WORDS...``: the timeout runs as
    the drilling user, outside sudo; sudo sees one program and its words, and keeps the
    ``KEPT_ENV`` assignments set before it.

    >>> exact_words(shlex.join(["env", "TZ=UTC", "borg", "list"]), 9)[:2]
    ['TZ=UTC', 'timeout']
    """
    assignments, _ = kept_env(_words(script, words))
    return [*assignments, "timeout", "-k", "5", str(limit), "sudo", "-n", "--", *escalated(script, words)]


def exact_command(script: str, limit: int, words: tuple[str, ...] | None = None) -> str:
    """``exact_words`` as one shell command line; a trailing ``2>/dev/null`` or ``>/dev/null``
    of ``script`` (a progress reading, a restore's output) stays a redirection of the drilling
    user's shell.

    >>> exact_command("du -sb /var/tmp/x 2>/dev/null", 20)
    'timeout -k 5 20 sudo -n -- /usr/bin/du -sb /var/tmp/x 2>/dev/null'
    """
    quiet = next((q for q in _QUIET if words is None and script.endswith(q)), "")
    command = shlex.join(exact_words(script.removesuffix(quiet) if quiet else script, limit, words))
    return command + quiet
