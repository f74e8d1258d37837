"""Print pip constraints that pin every dependency of the project (and of the extras named on
the command line) to the lowest version its pyproject.toml allows: ``pytest>=8.3,<10`` gives
``pytest==8.3``. ``make lowest`` installs them and runs the unit tests, so a floor that admits a
version the suite cannot work with fails CI.

    $ python tools/floors.py plot ansible > build/lowest.txt
    $ python tools/floors.py --project lab/pyproject.toml >> build/lowest.txt  # the lab's
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

FLOOR = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)")


def floors(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    pins = []
    for requirement in wanted:
        match = FLOOR.match(requirement)
        if match is None:
            if re.split(r"[\[<>=;\s]", requirement)[0] not in (project["name"], "backup-drills"):
                raise SystemExit(f"{pyproject}: {requirement!r} has no floor (>=)")
            continue
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


if __name__ == "__main__":
    args = sys.argv[1:]
    project = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if args[:1] == ["--project"]:
        project, args = Path(args[1]), args[2:]
    print("\n".join(floors(project, args)))
