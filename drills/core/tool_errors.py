"""What a backup tool's failed command says, in the tool's own words: the lines that name the
problem (``named``), whether the problem is the repository's (``DAMAGE``: NOT COMPLIANT) or
the drill's (``COULD_NOT_RUN``: a repository missing, a wrong passphrase, a lock held, a host
unreachable), and an exception that carries the full output for the report.

borg prints a Python traceback and a footer (Platform, PID, sys.argv, SSH_ORIGINAL_COMMAND)
after the line that names the problem, and ``borg check`` prints one ``ID: ... rebuilt index``
line per object after it: the last lines of its output are the wrong end. Built from borg
1.2's and 1.4's real outputs (tests/unit/recorded/borg-*/failures/).

    >>> print(named("Local Exception\\nTraceback (most recent call last):\\n  File \\"x.py\\", line 1\\n"
    ...       "FileNotFoundError: [Errno 2] No such file or directory: '/r/data/0/2'\\n\\n"
    ...       "Platform: Linux\\nPID: 1  CWD: /\\nsys.argv: ['borg']\\nSSH_ORIGINAL_COMMAND: None"))
    FileNotFoundError: [Errno 2] No such file or directory: '/r/data/0/2'
    (and 7 more line(s) of output, attached in full)
    >>> judge("Data integrity error: Segment entry checksum mismatch [segment 2, offset 19]")
    Judgement(kind='damage', means='a segment entry fails its checksum (data corrupted on disk)')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from drills.adapters.tool import RestoreFailed
from drills.core.transport import DrillCouldNotRun

MAX_LINES = 5  # lines of the tool's own output a message quotes
MAX_CHARS = 600  # and characters (the full output goes to the report as an attachment)

Kind = Literal["damage", "could not run"]
DAMAGE: Final[Kind] = "damage"
COULD_NOT_RUN: Final[Kind] = "could not run"


@dataclass(frozen=True)
class Judgement:
    kind: Kind
    means: str


# (what the tool says, a regular expression; what it is; what it means), first match wins.
# COULD NOT RUN: the repository could not be opened at all; everything else a tool reports
# about a repository it opened is damage.
_SAYS: tuple[tuple[str, Kind, str], ...] = (
    # the drill's problem
    (r"Failed to create/acquire the lock", COULD_NOT_RUN,
     "the repository stayed locked (the estate's own job holds it?)"),
    (r"unable to create lock|repository is already locked", COULD_NOT_RUN,
     "the repository stayed locked (the estate's own job holds it?)"),
    (r"passphrase supplied in BORG_PASSPHRASE", COULD_NOT_RUN, "wrong BORG_PASSPHRASE"),
    (r"wrong password or no key found", COULD_NOT_RUN, "wrong password or no key found"),
    (r"is not a valid repository", COULD_NOT_RUN, "no borg repository there"),
    (r"Repository \S.* does not exist", COULD_NOT_RUN, "no borg repository there"),
    (r"Is there a repository at the following location\?", COULD_NOT_RUN,
     "no restic repository there"),
    (r"Connection closed by remote host|Could not resolve hostname|Connection refused|"
     r"connection refused|No route to host|no such host", COULD_NOT_RUN,
     "the repository's host is unreachable"),
    # the repository's problem (borg)
    (r"Segment entry checksum mismatch", DAMAGE,
     "a segment entry fails its checksum (data corrupted on disk)"),
    (r"Data integrity error|IntegrityError", DAMAGE, "borg found data that fails its integrity check"),
    (r"No such file or directory: '[^']*/data/\d+/\d+'", DAMAGE,
     "a segment file of the repository is missing"),
    (r"Cache, or information obtained from the security directory is newer than repository",
     DAMAGE, "the repository is older than borg last saw it (segments lost, or rolled back)"),
    (r"Index object count mismatch", DAMAGE,
     "the repository index and its segments disagree (objects lost or added)"),
    (r"Repository has no manifest|Repository manifest not found|NoManifestError", DAMAGE,
     "the repository's manifest is missing"),
    (r"[Cc]orrupted|is missing|[Mm]issing (file )?chunk|orphaned objects", DAMAGE,
     "the repository lost or corrupted data"),
    # the repository's problem (restic)
    (r"ciphertext verification failed|Pack ID does not match|hash does not match|"
     r"repository contains errors|pack .* contains \d+ errors?", DAMAGE,
     "the repository holds data that fails its check"),
)
_COMPILED = tuple((re.compile(says), kind, means) for says, kind, means in _SAYS)

# lines that name the problem, first choice; matched case-insensitively
_NAMING = re.compile(
    r"error|mismatch|missing|corrupt|not found|no such|does not exist|incorrect|invalid|"
    r"denied|refused|failed|fatal|unable|cannot|can't|locked|newer than|wrong", re.IGNORECASE)

# lines that never name it: traceback frames and source, borg's footer, tables, progress
_NOISE = re.compile(
    r"^(Traceback \(most recent call last\):|During handling of the above exception|"
    r"The above exception was the direct cause|Local Exception|Remote Exception|"
    r"File \".*\", line \d+|\s*[\^~]+\s*$|"
    r"Platform:|Linux:|Borg:|PID:|sys\.argv:|SSH_ORIGINAL_COMMAND:|"
    r"-{10,}|=+$|\s*(Original size|Unique chunks|Number of files)|"
    r"ID: [0-9a-f]{16,} rebuilt index|"
    r"\[\d+:\d+\] |\d+(\.\d+)?% |Checking segments \d|Processing|Analyzing archive)", re.IGNORECASE)


def judge(output: str) -> Judgement | None:
    """What the tool's output says the problem is, or None when it says nothing known."""
    for says, kind, means in _COMPILED:
        if says.search(output):
            return Judgement(kind, means)
    return None


def _lines(output: str) -> list[str]:
    """The lines of ``output`` that are not traceback, footer, table or progress, each once
    (``IntegrityError: X`` and ``X`` are one line: the longer is kept, where the first was).
    Of a chained traceback only the last exception is kept (the one borg stopped on)."""
    traceback = "Traceback (most recent call last)" in output
    kept: list[str] = []
    inner: int | None = None  # where the lines of the traceback being read begin
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("Traceback (most recent call last)"):
            inner = len(kept)
        if re.match(r"During handling of the above exception|The above exception was the direct "
                    r"cause", line) and inner is not None:
            del kept[inner:]  # the exception borg was handling when it failed otherwise
        if not line or _NOISE.match(line) or (traceback and raw.startswith("    ")):
            continue
        same = next((i for i, other in enumerate(kept) if line in other or other in line), None)
        if same is None:
            kept.append(line)
        elif len(line) > len(kept[same]):
            kept[same] = line
    return kept


def named(output: str, lines: int = MAX_LINES, chars: int = MAX_CHARS, attached: bool = True) -> str:
    """The lines of ``output`` that name the problem: the tool's error lines (in its order; the
    other lines only when none is), not traceback, footer, table or progress, at most ``lines``
    lines and ``chars`` characters. Says how many lines were left out (and that they are
    ``attached`` to the report, when the caller attaches the output)."""
    kept = _lines(output)
    naming = [line for line in kept if _NAMING.search(line)] or kept
    chosen: list[str] = []
    size = 0
    for line in naming:
        if len(chosen) == lines or size + len(line) > chars:
            break
        chosen.append(line)
        size += len(line) + 1
    if not chosen and naming:
        chosen = [naming[0][:chars]]
    left = len([line for line in output.splitlines() if line.strip()]) - len(chosen)
    where = ", attached in full" if attached else ""
    more = f"\n(and {left} more line(s) of output{where})" if left > 0 and chosen else ""
    return "\n".join(chosen) + more if chosen else ""


def said(output: str, exit_status: int) -> str:
    """``named`` lines, or the exit status when the tool printed nothing."""
    return named(output) or f"exit {exit_status}, no output"


class RepositoryDamaged(RestoreFailed):
    """The tool opened the repository and found it damaged (a segment missing, a checksum that
    fails): a verdict on the backup (NOT COMPLIANT), never COULD NOT RUN. ``output`` is the
    tool's full output, attached to the report."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class ToolCouldNotRun(DrillCouldNotRun):
    """The tool could not open the repository (missing, wrong passphrase, lock held,
    unreachable). ``output`` is the tool's full output, attached to the report."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def failure(who: str, command: str, output: str, exit_status: int) -> RepositoryDamaged | ToolCouldNotRun:
    """The exception for a failed read of a repository: damage when the tool's own words say
    so, else COULD NOT RUN; the message quotes the lines that name the problem."""
    judgement = judge(output)
    means = f", {judgement.means}" if judgement else ""
    message = f"{who}: `{command}` exited {exit_status}{means}:\n  " + \
        "\n  ".join(said(output, exit_status).splitlines())
    if judgement is not None and judgement.kind == DAMAGE:
        return RepositoryDamaged(message, output)
    return ToolCouldNotRun(message, output)
