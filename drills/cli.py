"""``drill-evidence``: make a signing keypair, verify signed evidence.

    $ drill-evidence keygen --out ~/.config/backup-drills      # evidence.key (0600), evidence.pub
    $ pytest features/ --sign-evidence ~/.config/backup-drills/evidence.key
    $ drill-evidence verify reports/evidence --key ~/.config/backup-drills/evidence.pub
    verified: 3 files under reports/evidence
    $ drill-evidence matrix reports/evidence --out reports/controls
    $ drill-evidence report          # reports/html/index.html from reports/allure-results

Exit codes: 0 verified; 1 a file is unsigned, tampered with or signed with another key;
2 bad input (unreadable key, no such path).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drills.controls import matrix, render_markdown
from drills.report import ReportError, build_report
from drills.signing import SigningError, keygen, verify_path


def _matrix(path: Path, out: Path) -> int:
    if not path.is_dir():
        print(f"drill-evidence matrix: {path}: no such directory", file=sys.stderr)
        return 2
    rows = matrix(path)
    out.mkdir(parents=True, exist_ok=True)
    (out / "controls.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "controls.md").write_text(render_markdown(rows))
    print(f"{len(rows)} control(s), {sum(map(len, rows.values()))} drill result(s): "
          f"{out / 'controls.md'}, {out / 'controls.json'}")
    return 0


def _report(results: Path, out: Path, history: Path) -> int:
    try:
        index = build_report(results, out, history)
    except ReportError as exc:
        print(f"drill-evidence report: {exc}", file=sys.stderr)
        return 2
    print(f"report: {index} (history: {history})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drill-evidence", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="write evidence.key (0600) and evidence.pub")
    make.add_argument("--out", type=Path, required=True, help="directory for the keypair")
    check = commands.add_parser("verify", help="verify one evidence file or a directory")
    check.add_argument("path", type=Path)
    check.add_argument("--key", type=Path, required=True, help="the public key (evidence.pub)")
    table = commands.add_parser("matrix", help="controls matrix of an evidence directory")
    table.add_argument("path", type=Path)
    table.add_argument("--out", type=Path, required=True,
                       help="directory for controls.md and controls.json")
    report = commands.add_parser("report", help="single-file HTML report of the Allure results "
                                                "(Allure 3, with trends across runs)")
    report.add_argument("--results", type=Path, default=Path("reports/allure-results"))
    report.add_argument("--out", type=Path, default=Path("reports/html"))
    report.add_argument("--history", type=Path, default=Path("reports/history.jsonl"),
                        help="Allure history file, appended to on every report")
    args = parser.parse_args(argv)
    if args.command == "matrix":
        return _matrix(args.path, args.out)
    if args.command == "report":
        return _report(args.results, args.out, args.history)
    try:
        if args.command == "keygen":
            private, public = keygen(args.out)
            print(f"private key: {private} (keep it secret)\npublic key:  {public}")
            return 0
        if not args.path.exists():
            raise SigningError(f"{args.path}: no such file or directory")
        problems = verify_path(args.path, args.key)
    except SigningError as exc:
        print(f"drill-evidence {args.command}: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"FAILED {problem}")
    if problems:
        return 1
    count = len(list(args.path.rglob("*.json"))) if args.path.is_dir() else 1
    print(f"verified: {count} file(s) under {args.path}")
    return 0
