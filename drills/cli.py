"""``backup-drills``: drill an inventory, check one, build the report, sign and verify evidence.

    $ backup-drills run --inventory prod.yml                 # the bundled features, all jobs
    $ backup-drills run --inventory prod.yml --features my-features/ -m weekly -n 4
    $ backup-drills run --inventory prod.yml --allow-writes   # canaries too, for every job
    $ backup-drills inventory check prod.yml
    $ backup-drills report                                   # reports/html/index.html
    $ backup-drills evidence keygen|verify|matrix ...        # as ``drill-evidence`` below
    $ backup-drills steps                                    # the step catalogue (Markdown)

``drill-evidence``: make a signing keypair, verify a signed run (drills/evidence/cli.py,
docs/evidence.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backup_drills import __version__
from backup_drills.evidence.cli import evidence_main, merge_main
from backup_drills.exit_codes import guarded, plain
from backup_drills.inventory.schema import InventoryError, load_inventory
from backup_drills.run import exit_table, run_main


def _inventory_check(path: Path) -> int:
    try:
        inventory = load_inventory(path)
    except InventoryError as exc:
        print(exc, file=sys.stderr)
        return 4  # bad input: the code a drill of the same inventory exits with (pytest's usage error)
    print(f"{path}: inventory {inventory.name}: {len(inventory.hosts)} host(s), "
          f"{len(inventory.jobs)} job(s): valid")
    return 0


def _sudoers(argv: list[str]) -> int:
    """``backup-drills sudoers``: the sudoers file of a ``sudo: exact`` drill of one host's jobs
    (exit 4 when a job cannot be pinned exactly: its kind is named, no broader rule is written)."""
    from backup_drills.inventory.sudoers import NotCovered, helper_files, sudoers_file

    parser = argparse.ArgumentParser(prog="backup-drills sudoers", description=plain(_sudoers.__doc__))
    parser.add_argument("--inventory", type=Path, required=True, help="the inventory file")
    parser.add_argument("--host", help="the host the file is for (needed when the inventory has several)")
    parser.add_argument("--user", default="drill", help="the drilling user on the host (default: drill)")
    parser.add_argument("--helpers", type=Path, help="also write the shell helpers the file names "
                                                     "into this folder, to install on the host")
    args = parser.parse_args(argv)
    try:
        inventory = load_inventory(args.inventory)
    except InventoryError as exc:
        print(exc, file=sys.stderr)
        return 4
    host = args.host or (next(iter(inventory.hosts)) if len(inventory.hosts) == 1 else None)
    if host not in inventory.hosts:
        print(f"backup-drills sudoers: --host: expected one of {', '.join(inventory.hosts)}, got "
              f"{args.host!r} (one file per host)", file=sys.stderr)
        return 4
    try:
        text = sudoers_file(inventory, host, args.user, str(args.inventory))
        files = helper_files(inventory, host)
    except NotCovered as exc:
        print(f"backup-drills sudoers: {exc}", file=sys.stderr)
        return 4
    if args.helpers is not None:
        args.helpers.mkdir(parents=True, exist_ok=True)
        for path, content in files.items():
            (args.helpers / Path(path).name).write_text(content)
    sys.stdout.write(text)
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
        return merge_main(args[1:])
    if args and args[0] == "discover":
        from backup_drills.inventory.discover import discover_main  # only this command reads hosts' units

        return discover_main(args[1:])
    if args and args[0] == "sudoers":
        return _sudoers(args[1:])
    if args and args[0] == "steps":
        from backup_drills.steps.plugin.catalogue import (
            main as steps_main,  # the catalogue reads the step modules
        )

        return steps_main(args[1:], prog="backup-drills steps")
    parser = argparse.ArgumentParser(prog="backup-drills", description=plain(__doc__.splitlines()[0]),
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
    commands.add_parser("sudoers", help="the sudoers file of a sudo: exact drill of one host's jobs")
    parsed = parser.parse_args(args)
    return _inventory_check(parsed.file)


drill_evidence = guarded(evidence_main)  # ``drill-evidence``: an unexpected exception is exit 3


if __name__ == "__main__":  # python -m backup_drills.cli, as the console script backup-drills
    sys.exit(main())
