"""``drill-evidence`` (also ``backup-drills evidence``) and ``backup-drills merge``.

    $ drill-evidence keygen --out ~/.config/backup-drills      # evidence.key (0600), evidence.pub,
                                                               # allowed_signers
    $ pytest features/ --sign-evidence ~/.config/backup-drills/evidence.key
    $ drill-evidence verify reports/evidence/20261203T100000Z --key ~/.config/backup-drills/evidence.pub
    verified: run 20261203T100000Z, 3 job(s), 9 file(s), signed by backup-drills
    $ drill-evidence matrix reports/evidence --out reports/controls
    $ drill-evidence report          # reports/html/index.html from reports/allure-results

Exit codes of ``verify``: 0 verified; 1 verification failed (every failure named: a bad or
missing signature, a changed, missing or unlisted file, a missing job, a file of another run
or renamed, a job without scenarios, no job at all); 4 unreadable or malformed input (the file
named), an unusable key, or no ssh-keygen. ``merge`` exits with the merged drill's code, or 4
when the shards cannot be merged (named).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backup_drills.evidence.controls import matrix, render_markdown
from backup_drills.evidence.manifest import EXIT_UNREADABLE, MANIFEST, load, runs_below, verify_path
from backup_drills.evidence.merge import MergeError, merge
from backup_drills.evidence.report import ReportError, build_report
from backup_drills.evidence.signing import IDENTITY, SigningError, keygen, signing_key
from backup_drills.exit_codes import plain


def _matrix(path: Path, out: Path) -> int:
    if not path.is_dir():
        print(f"drill-evidence matrix: {path}: no such directory", file=sys.stderr)
        return EXIT_UNREADABLE
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
        return exc.code
    print(f"report: {index} (history: {history})")
    return 0


def _verify(args: argparse.Namespace, prog: str) -> int:
    if args.key is None and args.allowed_signers is None:
        print(f"{prog} verify: give --key PUBLIC (evidence.pub) or --allowed-signers FILE",
              file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        problems = verify_path(args.path, args.key, args.allowed_signers, args.identity)
    except SigningError as exc:
        print(f"{prog} verify: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    for problem in problems.unreadable:
        print(f"UNREADABLE {problem}")
    for problem in problems.failures:
        print(f"FAILED {problem}")
    if problems.exit_code:
        print(f"{prog} verify: {len(problems.all())} problem(s) under {args.path}: NOT verified",
              file=sys.stderr)
        return problems.exit_code
    for run in runs_below(args.path):
        doc = load(run / MANIFEST)
        print(f"verified: run {doc['run_id']}, {len(doc['expected_jobs'])} job(s), "
              f"{len(doc['files'])} file(s), signed by {args.identity or IDENTITY} ({run})")
    return 0


def evidence_main(argv: list[str] | None = None, prog: str = "drill-evidence") -> int:
    """``drill-evidence keygen|verify|matrix|report``."""
    parser = argparse.ArgumentParser(prog=prog, description="make a signing keypair, verify a signed "
                                                            "run, build the controls matrix")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="write evidence.key (0600), evidence.pub and "
                                              "allowed_signers (OpenSSH ed25519)")
    make.add_argument("--out", type=Path, required=True, help="directory for the keypair")
    check = commands.add_parser("verify", help="verify a run's evidence folder (or every run in "
                                               "an evidence directory) against its signed manifest")
    check.add_argument("path", type=Path)
    check.add_argument("--key", type=Path, help="the public key (evidence.pub)")
    check.add_argument("--allowed-signers", type=Path,
                       help="an OpenSSH allowed_signers file instead of --key")
    check.add_argument("--identity", default=None,
                       help=f"the signer's principal in allowed_signers (default: {IDENTITY})")
    table = commands.add_parser("matrix", help="controls matrix of an evidence directory")
    table.add_argument("path", type=Path)
    table.add_argument("--out", type=Path, required=True,
                       help="directory for controls.md and controls.json")
    report = commands.add_parser("report", help="single-file HTML report of the Allure results "
                                                "(Allure 3, with trends across runs)",
                                 description="a single-file HTML report of a drill's Allure results "
                                             "(Allure 3, with trends across runs)")
    report.add_argument("--results", type=Path, default=Path("reports/allure-results"),
                        help="the drill's Allure results folder (default: %(default)s)")
    report.add_argument("--out", type=Path, default=Path("reports/html"),
                        help="folder the report is written to, as index.html (default: %(default)s)")
    report.add_argument("--history", type=Path, default=Path("reports/history.jsonl"),
                        help="Allure history file, appended to on every report (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "matrix":
        return _matrix(args.path, args.out)
    if args.command == "report":
        return _report(args.results, args.out, args.history)
    if args.command == "verify":
        return _verify(args, prog)
    try:
        private, public = keygen(args.out)
    except SigningError as exc:
        print(f"{prog} keygen: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"private key: {private} (keep it secret)\npublic key:  {public}\n"
          f"allowed signers: {args.out / 'allowed_signers'} (give it to your auditors)")
    return 0


def merge_main(argv: list[str]) -> int:
    """``backup-drills merge``: the shards' evidence and Allure results as one run."""
    parser = argparse.ArgumentParser(prog="backup-drills merge", description=plain(merge_main.__doc__))
    parser.add_argument("--evidence", type=Path, nargs="+", required=True,
                        help="each shard's evidence folder (its reports/evidence, or the run in it)")
    parser.add_argument("--allure", type=Path, nargs="*", default=[],
                        help="each shard's Allure results folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the merged run")
    parser.add_argument("--key", type=Path, help="public key: verify every shard's manifest first")
    parser.add_argument("--allowed-signers", type=Path, help="an allowed_signers file instead of --key")
    parser.add_argument("--sign", metavar="KEY",
                        help="sign the merged manifest (a file, env:NAME or agent:PUBLIC; needs --key)")
    args = parser.parse_args(argv)
    try:
        key = signing_key(args.sign) if args.sign else None
        merged = merge(args.evidence, args.out, args.allure, args.key, key, args.allowed_signers)
    except (MergeError, SigningError, OSError) as exc:
        print(f"backup-drills merge: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    verdicts = list(merged.jobs.values())
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in sorted(set(verdicts)))
    print(f"merged {len(merged.jobs)} job(s) from {len(args.evidence)} shard(s) "
          f"({', '.join(merged.shards) or 'unlabelled'}): {counts or 'no job'}\n"
          f"evidence: {merged.folder} (summary.md, summary.html, controls.md, {MANIFEST}"
          + (", signed)" if key else ", unsigned)")
          + (f"\nallure results: {args.out / 'allure-results'}" if args.allure else ""))
    return merged.exit_code
