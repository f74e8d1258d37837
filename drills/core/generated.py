"""Files the checkout generates from the code (a JSON Schema, a reference page), kept current by
one command line: ``--write`` writes them, ``--check`` exits 1 naming each stale one.

    >>> generated_main("python -m m", "m's files", lambda docs: {}, Path("docs"), ["--check"])
    0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

Expected = Callable[[Path], dict[Path, str]]


def generated_main(prog: str, description: str, expected: Expected, docs: Path,
                   argv: list[str] | None = None, what: str = "write the files") -> int:
    """The command line of a module that generates files into ``docs`` (``expected(docs)``: each
    path with its text); 0 when written or current, 1 when ``--check`` finds one stale."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help=what)
    action.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    parser.add_argument("--docs", type=Path, default=docs, help="the docs folder (default: the checkout's)")
    args = parser.parse_args(argv)
    files = expected(args.docs)
    if args.write:
        for path, text in files.items():
            path.write_text(text)
        return 0
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    for path in stale:
        print(f"{path}: stale; run {prog} --write", file=sys.stderr)
    return 1 if stale else 0
