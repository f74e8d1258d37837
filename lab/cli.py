"""``drill-lab up|status|down|reset``: the lab's lifecycle from the command line.

    $ drill-lab up        # idempotent: builds, starts, seeds and runs each job once when needed
    $ drill-lab up --hosts 16   # and 16 workspace hosts ws01-ws16, each with its own restic job
    $ drill-lab status    # one line per container
"""

from __future__ import annotations

import argparse
import sys

from backup_drills.exit_codes import ExitCode, guarded
from lab.estate import Lab, LabError


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drill-lab", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "status", "down", "reset"])
    parser.add_argument("--hosts", type=int, default=None, metavar="N",
                        help="up: N workspace hosts for scale drills (default: keep as many as "
                             "exist; 0 removes them); their inventory is written to the lab's "
                             "state directory as fleet.yml")
    args = parser.parse_args(argv)
    try:
        lab = Lab(log=lambda line: print(f"[lab] {line}", flush=True))
        if args.command == "up":
            lab.up(fleet=args.hosts)
        elif args.command == "status":
            print("\n".join(lab.status()))
        elif args.command == "down":
            lab.down()
        else:
            lab.reset()
    except LabError as exc:
        print(f"drill-lab {args.command}: {exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_RUN  # the lab did not come up (or down): no verdict
    return 0


if __name__ == "__main__":  # python -m lab.cli, as the console script drill-lab
    sys.exit(main())
