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

from drills import __version__
from drills.evidence.cli import evidence_main, merge_main
from drills.exit_codes import guarded
from drills.inventory.schema import InventoryError, load_inventory
from drills.run import exit_table, run_main


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
        return merge_main(args[1:])
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
