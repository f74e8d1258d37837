"""The one exit code table of every command of the suite (``backup-drills`` and its
subcommands, ``drill-evidence``, ``drill-lab``, ``drill-steps``) and of a drill run by pytest.

    0 verified       every drill (or check) passed
    1 not compliant  a drill ran and found the estate not as the runbook says
    2 could not run  no verdict: a host unreachable, a command timed out, a tool missing; or
                     the output's reader went away first (a closed pipe: ``| head``)
    3 internal error a bug: an unexpected exception, never reported as a verdict
    4 bad input      an invalid inventory, option or file: nothing was touched

``guarded`` wraps a command's ``main`` so that an unexpected exception is exit 3 (never 1, the
code a pipeline reads as "not compliant"), argparse's usage error is exit 4 (argparse's own
is 2, which would read as "could not run") and a closed output pipe is exit 2, silently:

    >>> @guarded
    ... def main(argv: list[str] | None = None) -> int:
    ...     raise KeyError("a bug")
    >>> main([])  # its traceback and a line saying it is a bug go to standard error
    3
    >>> int(ExitCode.BAD_INPUT), meaning(4), meaning(9)
    (4, 'bad input', 'exit 9')
"""

from __future__ import annotations

import functools
import os
import select
import sys
import traceback
from collections.abc import Callable
from enum import IntEnum
from typing import ParamSpec

P = ParamSpec("P")


class ExitCode(IntEnum):
    """What a command's exit code means, the same for every command."""

    VERIFIED = 0
    NOT_COMPLIANT = 1
    COULD_NOT_RUN = 2
    INTERNAL_ERROR = 3
    BAD_INPUT = 4


MEANINGS = {ExitCode.VERIFIED: "verified", ExitCode.NOT_COMPLIANT: "not compliant",
            ExitCode.COULD_NOT_RUN: "could not run", ExitCode.INTERNAL_ERROR: "internal error",
            ExitCode.BAD_INPUT: "bad input"}


def meaning(code: int) -> str:
    """The table's words for an exit code (``exit N`` for a code outside it)."""
    return MEANINGS[ExitCode(code)] if code in ExitCode.__members__.values() else f"exit {code}"


def drill_exit(pytest_status: int, not_compliant: int, sharded: bool) -> int:
    """A drill's exit code from pytest's (``pytest.ExitCode``) and the count of scenarios found
    not compliant: a failed scenario is "not compliant" only when one was found so, otherwise
    it could not run; nothing collected is bad input (the selection or the inventory drills
    nothing), except for a shard whose part holds no host. pytest's own 2 (interrupted, a
    collection error), 3 and 4 are the table's.

    >>> drill_exit(1, 0, False), drill_exit(1, 2, False), drill_exit(5, 0, False), drill_exit(5, 0, True)
    (2, 1, 4, 0)
    """
    if pytest_status == 1:
        return int(ExitCode.NOT_COMPLIANT if not_compliant else ExitCode.COULD_NOT_RUN)
    if pytest_status == 5:
        return int(ExitCode.VERIFIED if sharded else ExitCode.BAD_INPUT)
    return pytest_status


def plain(text: str | None) -> str:
    """A docstring as a command's help shows it: without reStructuredText's double backticks.

    >>> plain("``backup-drills merge``: the shards' ``evidence``")
    "backup-drills merge: the shards' evidence"
    """
    return (text or "").replace("``", "")


def guarded(main: Callable[P, int]) -> Callable[P, int]:
    """``main`` whose unexpected exception is exit 3 (its traceback, masked, on standard error,
    then one line saying it is an internal error), whose argparse usage error is exit 4, and whose
    Ctrl-C is exit 2 (the drill did not finish: no verdict), as is a closed output pipe (the
    reader of ``| head`` went away: nothing more is printed, no traceback)."""
    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return int(main(*args, **kwargs))
        except SystemExit as exc:
            return _exit_status(exc)
        except KeyboardInterrupt:
            print("interrupted: no verdict (exit 2, could not run)", file=sys.stderr)
            return int(ExitCode.COULD_NOT_RUN)
        except BrokenPipeError:
            if not _reader_gone():
                _internal_error()
                return int(ExitCode.INTERNAL_ERROR)
            return int(ExitCode.COULD_NOT_RUN)
        except Exception:  # the point of this wrapper: a bug is never a verdict
            _internal_error()
            return int(ExitCode.INTERNAL_ERROR)

    return run


def _internal_error() -> None:
    """The traceback being handled, masked, and the line saying it is a bug, on standard error."""
    from backup_drills.core.secrets import mask  # a secret the command registered stays hidden

    sys.stderr.write(mask(traceback.format_exc()))
    print("internal error (exit 3): the traceback above is a bug of backup-drills, not a "
          "verdict on any backup", file=sys.stderr)


def _reader_gone() -> bool:
    """True when standard output or error is a pipe whose reader has gone (``| head`` read
    what it wanted); each such one then writes to /dev/null, so nothing more fails (Python's
    docs on SIGPIPE: no traceback, not even at exit when the buffers are flushed)."""
    gone = False
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # replaced (captured) streams: not a pipe
            continue
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR is always reported: a pipe's writer gets it, no reader left
        if any(events & select.POLLERR for _, events in poller.poll(0)):
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
            gone = True
    return gone


def _exit_status(exc: SystemExit) -> int:
    """A ``SystemExit``'s code in the table: argparse's usage error (its 2) is bad input, a
    message without a code (``sys.exit("...")``) is printed and is an internal error."""
    if exc.code is None:
        return int(ExitCode.VERIFIED)
    if isinstance(exc.code, int):
        return int(ExitCode.BAD_INPUT) if exc.code == 2 and _from_argparse(exc) else exc.code
    print(exc.code, file=sys.stderr)
    return int(ExitCode.INTERNAL_ERROR)


def _from_argparse(exc: SystemExit) -> bool:
    """True when argparse raised it (``ArgumentParser.error`` exits 2 after its usage line)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.endswith("argparse.py")
