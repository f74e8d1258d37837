"""What a backup tool's failed command says, in the tool's own words: the lines that name the
problem (``named``), whether the problem is the repository's (``DAMAGE``: NOT COMPLIANT) or
the drill's (``COULD_NOT_RUN``: a repository missing, a wrong passphrase, a lock held, a host
unreachable), and an exception that carries the full output for the report.

The words are each tool's own: its ``ERRORS`` table (an ``ErrorTable``, in the tool's module)
holds what it says and what that means, what a failed probe means in the operator's words, and
the lines it prints that never name a problem (a footer, a table, per-object lines). This module
only applies a table; the words it holds itself are no tool's (a host unreachable, an object
store refusing a key, a Python traceback).

    >>> table = ErrorTable(says=((r"checksum mismatch", DAMAGE, "data corrupted on disk"),),
    ...                    noise=(r"Platform:",))
    >>> print(named("Local Exception\\nTraceback (most recent call last):\\n  File \\"x.py\\", line 1\\n"
    ...       "ValueError: checksum mismatch [segment 2]\\n\\nPlatform: Linux", table))
    ValueError: checksum mismatch [segment 2]
    (and 4 more line(s) of output, attached in full)
    >>> judge("Data integrity error: checksum mismatch [segment 2, offset 19]", table)
    Judgement(kind='damage', means='data corrupted on disk')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Final, Literal

from backup_drills.adapters.tool import RestoreFailed
from backup_drills.core.transport import DrillCouldNotRun

MAX_LINES = 5  # lines of the tool's own output a message quotes
MAX_CHARS = 600  # and characters (the full output goes to the report as an attachment)

Kind = Literal["damage", "could not run"]
DAMAGE: Final[Kind] = "damage"
COULD_NOT_RUN: Final[Kind] = "could not run"


@dataclass(frozen=True)
class Judgement:
    kind: Kind
    means: str


@dataclass(frozen=True)
class ErrorTable:
    """One tool's own words. ``says``: (a regular expression of what it prints, what it is, what
    it means), first match wins; COULD NOT RUN where the repository could not be opened at all,
    everything else it reports about a repository it opened is damage. ``findings``: (a regular
    expression of what a failed probe prints, matched case-insensitively, what that means in the
    operator's words).
    ``noise``: regular expressions of lines that never name the problem. ``naming``: of lines
    that name it in the tool's own words beyond the shared ones (borgmatic's ``Command '[...]'
    returned non-zero exit status 1.``). ``a + b``: a's words first, then b's (a tool close to
    another, a tool and the shared words)."""

    says: tuple[tuple[str, Kind, str], ...] = ()
    findings: tuple[tuple[str, str], ...] = ()
    noise: tuple[str, ...] = ()
    naming: tuple[str, ...] = ()

    def __add__(self, other: ErrorTable) -> ErrorTable:
        return ErrorTable(self.says + other.says, self.findings + other.findings,
                          self.noise + other.noise, self.naming + other.naming)

    @cached_property
    def compiled(self) -> tuple[tuple[re.Pattern[str], Kind, str], ...]:
        return tuple((re.compile(says), kind, means) for says, kind, means in self.says)

    @cached_property
    def noise_lines(self) -> re.Pattern[str]:
        return re.compile("|".join((_NOISE, *self.noise)), re.IGNORECASE)

    @cached_property
    def naming_lines(self) -> re.Pattern[str]:
        return re.compile("|".join((_NAMING.pattern, *self.naming)), re.IGNORECASE)


# Words no tool owns, which every tool's table ends with: a host unreachable, an object store
# refusing the keys (an S3 store's own codes, as the tools that reach it print them).
UNREACHABLE = ErrorTable(
    says=((r"Connection closed by remote host|Could not resolve hostname|Connection refused|"
           r"connection refused|No route to host|no such host", COULD_NOT_RUN,
           "the repository's host is unreachable"),),
    findings=(("connection refused", "refused the connection"),
              ("no such host", "has a name that does not resolve")))
OBJECT_STORE = ErrorTable(findings=(
    ("InvalidAccessKeyId", "refused the credentials (unknown access key)"),
    ("SignatureDoesNotMatch", "refused the credentials (secret key does not match)"),
    ("AccessDenied", "refused access (AccessDenied)"),
    ("Access Denied", "refused access (Access Denied)"),
    ("NoSuchBucket", "has no such bucket")))

# lines that name the problem, first choice; matched case-insensitively
_NAMING = re.compile(
    r"error|mismatch|missing|corrupt|not found|no such|does not exist|incorrect|invalid|"
    r"denied|refused|failed|fatal|unable|cannot|can't|locked|newer than|wrong", re.IGNORECASE)

# lines that never name it, whatever the tool: a Python traceback's frames and source, rules of
# a table, progress (each tool's table adds its own footer, tables and per-object lines)
_NOISE = (r"^(Traceback \(most recent call last\):|During handling of the above exception|"
          r"The above exception was the direct cause|"
          r"File \".*\", line \d+|\s*[\^~]+\s*$|-{10,}|=+$|\[\d+:\d+\] |\d+(\.\d+)?% )")
PLAIN = ErrorTable()  # no tool's words: only the shared noise


def judge(output: str, table: ErrorTable) -> Judgement | None:
    """What the tool's output says the problem is, by its ``table``, or None when it says
    nothing known."""
    for says, kind, means in table.compiled:
        if says.search(output):
            return Judgement(kind, means)
    return None


def _lines(output: str, noise: re.Pattern[str]) -> list[str]:
    """The lines of ``output`` that are not traceback, footer, table or progress, each once
    (``IntegrityError: X`` and ``X`` are one line: the longer is kept, where the first was).
    Of a chained traceback only the last exception is kept (the one the tool stopped on)."""
    traceback = "Traceback (most recent call last)" in output
    kept: list[str] = []
    inner: int | None = None  # where the lines of the traceback being read begin
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("Traceback (most recent call last)"):
            inner = len(kept)
        if re.match(r"During handling of the above exception|The above exception was the direct "
                    r"cause", line) and inner is not None:
            del kept[inner:]  # the exception the tool was handling when it failed otherwise
        if not line or noise.match(line) or (traceback and raw.startswith("    ")):
            continue
        same = next((i for i, other in enumerate(kept) if line in other or other in line), None)
        if same is None:
            kept.append(line)
        elif len(line) > len(kept[same]):
            kept[same] = line
    return kept


def named(output: str, table: ErrorTable = PLAIN, lines: int = MAX_LINES, chars: int = MAX_CHARS,
          attached: bool = True) -> str:
    """The lines of ``output`` that name the problem: the tool's error lines (in its order; the
    other lines only when none is), not traceback, footer, table or progress (the shared noise
    and ``table``'s), at most ``lines`` lines and ``chars`` characters. Says how many lines were
    left out (and that they are ``attached`` to the report, when the caller attaches the output)."""
    kept = _lines(output, table.noise_lines)
    naming = [line for line in kept if table.naming_lines.search(line)] or kept
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


def said(output: str, exit_status: int, table: ErrorTable = PLAIN) -> str:
    """``named`` lines, or the exit status when the tool printed nothing."""
    return named(output, table) or f"exit {exit_status}, no output"


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


def failure(who: str, command: str, output: str, exit_status: int,
            table: ErrorTable) -> RepositoryDamaged | ToolCouldNotRun:
    """The exception for a failed read of a repository: damage when the tool's own words (its
    ``table``) say so, else COULD NOT RUN; the message quotes the lines that name the problem."""
    judgement = judge(output, table)
    means = f", {judgement.means}" if judgement else ""
    message = f"{who}: `{command}` exited {exit_status}{means}:\n  " + \
        "\n  ".join(said(output, exit_status, table).splitlines())
    if judgement is not None and judgement.kind == DAMAGE:
        return RepositoryDamaged(message, output)
    return ToolCouldNotRun(message, output)
