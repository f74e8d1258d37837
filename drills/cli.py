"""``backup-drills``: drill an inventory, check one, build the report, sign and verify evidence.

    $ backup-drills run --inventory prod.yml                 # the bundled features, all jobs
    $ backup-drills run --inventory prod.yml --features my-features/ -m weekly -n 4
    $ backup-drills run --inventory prod.yml --allow-writes   # canaries too, for every job
    $ backup-drills inventory check prod.yml
    $ backup-drills report                                   # reports/html/index.html
    $ backup-drills evidence keygen|verify|matrix ...        # as ``drill-evidence`` below
    $ backup-drills steps                                    # the step catalogue (Markdown)

``drill-evidence``: make a signing keypair, verify signed evidence.

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

from drills import __version__
from drills.evidence.controls import matrix, render_markdown
from drills.evidence.merge import MergeError, merge
from drills.evidence.report import ReportError, build_report
from drills.evidence.signing import SigningError, keygen, verify_path
from drills.exit_codes import guarded
from drills.inventory.schema import InventoryError, load_inventory
from drills.run import exit_table, run_main


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


def evidence_main(argv: list[str] | None = None, prog: str = "drill-evidence") -> int:
    """``drill-evidence keygen|verify|matrix|report``."""
    parser = argparse.ArgumentParser(prog=prog, description="make a signing keypair, verify signed "
                                                            "evidence, build the controls matrix")
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
        print(f"{prog} {args.command}: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"FAILED {problem}")
    if problems:
        return 1
    count = len(list(args.path.rglob("*.json"))) if args.path.is_dir() else 1
    print(f"verified: {count} file(s) under {args.path}")
    return 0


def _merge(argv: list[str]) -> int:
    """``backup-drills merge``: the shards' evidence and Allure results as one run."""
    parser = argparse.ArgumentParser(prog="backup-drills merge", description=_merge.__doc__)
    parser.add_argument("--evidence", type=Path, nargs="+", required=True,
                        help="each shard's evidence folder (its reports/evidence, or the run in it)")
    parser.add_argument("--allure", type=Path, nargs="*", default=[],
                        help="each shard's Allure results folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the merged run")
    parser.add_argument("--key", type=Path, help="public key: verify every shard's evidence first")
    parser.add_argument("--sign", type=Path, help="private key: sign the merged evidence")
    args = parser.parse_args(argv)
    try:
        merged = merge(args.evidence, args.out, args.allure, args.key, args.sign)
    except (MergeError, OSError, ValueError) as exc:
        print(f"backup-drills merge: {exc}", file=sys.stderr)
        return 4
    verdicts = list(merged.jobs.values())
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in sorted(set(verdicts)))
    print(f"merged {len(merged.jobs)} job(s) from {len(args.evidence)} shard(s) "
          f"({', '.join(merged.shards) or 'unlabelled'}): {counts or 'no job'}\n"
          f"evidence: {merged.folder} (summary.md, summary.html, controls.md)"
          + (f"\nallure results: {args.out / 'allure-results'}" if args.allure else ""))
    return merged.exit_code


def _inventory_check(path: Path) -> int:
    try:
        inventory = load_inventory(path)
    except InventoryError as exc:
        print(exc, file=sys.stderr)
        return 4  # bad input: the code a drill of the same inventory exits with (pytest's usage error)
    print(f"{path}: inventory {inventory.name}: {len(inventory.hosts)} host(s), "
          f"{len(inventory.jobs)} job(s): valid")
    return 0


@guarded
def main(argv: list[str] | None = None) -> int:
    """``backup-drills``: the suite's one command (see the module's docstring)."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "run":
        return run_main(args[1:])
    if args and args[0] == "evidence":
        return evidence_main(args[1:], prog="backup-drills evidence")
    if args and args[0] == "report":
        return evidence_main(args, prog="backup-drills")
    if args and args[0] == "merge":
        return _merge(args[1:])
    if args and args[0] == "discover":
        from drills.inventory.discover import discover_main  # only this command reads hosts' units

        return discover_main(args[1:])
    if args and args[0] == "steps":
        from steps.plugin.catalogue import main as steps_main  # the catalogue reads the step modules

        return steps_main(args[1:])
    parser = argparse.ArgumentParser(prog="backup-drills", description=__doc__.splitlines()[0],
                                     epilog=exit_table())
    parser.add_argument("--version", action="version", version=f"backup-drills {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="drill an inventory: pytest over the bundled features "
                                    "(--features DIR adds a folder of your own); its options: "
                                    "backup-drills run --help")
    inventory = commands.add_parser("inventory", help="inventory tools")
    checks = inventory.add_subparsers(dest="action", required=True)
    check = checks.add_parser("check", help="validate an inventory file; touches no host")
    check.add_argument("file", type=Path)
    commands.add_parser("report", help="single-file HTML report of the Allure results")
    commands.add_parser("evidence", help="keygen | verify | matrix of signed evidence")
    commands.add_parser("steps", help="the step catalogue: every sentence a feature can use")
    commands.add_parser("merge", help="one run from the shards of a drill (--shard i/n): "
                                      "evidence, summary, controls matrix, Allure results, exit code")
    commands.add_parser("discover", help="read hosts' backup jobs (read-only) and write a starter "
                                         "inventory: backup-drills discover HOST... --out FILE")
    parsed = parser.parse_args(args)
    return _inventory_check(parsed.file)


drill_evidence = guarded(evidence_main)  # ``drill-evidence``: an unexpected exception is exit 3
