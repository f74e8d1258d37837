"""``backup-drills run``: pytest over the bundled features (and a user's own), from and into the
current folder, with a help of its own.

    $ backup-drills run --inventory prod.yml --features ours/ -m weekly -n 4
    $ backup-drills run --help          # the drill's options
    $ backup-drills run --pytest-help   # pytest's, all of them

The drill's options are the ones its pytest plugin registers (``pytest_addoption`` of the plugin
modules, read here through a stand-in parser, so the help never drifts from them), plus this
command's own: ``--features``, ``--no-bundled``, ``--pytest-help``, and ``--inventory``, which
this command always reads as the drill's (it passes ``--drill-inventory`` on, so a
pytest-ansible installed beside it keeps its own ``--inventory``). testinfra's pytest plugin
(``--hosts``, ``--sudo``, ``--nagios``: the drill reaches hosts through testinfra as a library,
never through its fixtures) is not loaded.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from backup_drills.core.bundled import bundled
from backup_drills.exit_codes import MEANINGS, ExitCode

PROG = "backup-drills run"
TESTINFRA_PLUGIN = "pytest11.testinfra"  # the entry point's name, as ``-p no:`` blocks it
PYTEST_OFTEN = """\
pytest's options most used with a drill (all of them: --pytest-help):
  -k EXPRESSION         drill the jobs or hosts whose test IDs match (-k motoko, -k flux-backup)
  -m MARKEXPR           scenarios by tag (-m "weekly and not writes", -m restic)
  -n N                  N workers (pytest-xdist); a host's jobs all run on one worker
  -v, -vv               a line per scenario; -vv also a live line per job, step and long command
  -o log_cli=true       the drill's progress lines as they happen
  --junitxml PATH       JUnit XML of every scenario
  --collect-only        list what would be drilled, touching no host
"""


def exit_table() -> str:
    """The exit codes, as the help shows them."""
    return "exit codes: " + "; ".join(f"{int(code)} {words}" for code, words in MEANINGS.items())


class _Options:
    """Stands in for pytest's parser while the plugin modules register their options: each one
    goes to an argparse group of the help (``--drill-inventory`` with ``--inventory``, which this
    command reads itself)."""

    def __init__(self, group: Any) -> None:
        self.group = group

    def getgroup(self, name: str, description: str = "", after: str | None = None) -> _Options:
        return self

    def addoption(self, *names: str, **attrs: Any) -> None:
        if "--drill-inventory" in names:
            names = ("--inventory", *names)
            attrs["help"] = "inventory of hosts and jobs to drill (--drill-inventory in bare pytest)"
        self.group.add_argument(*names, **attrs)

    def addini(self, *args: Any, **kwargs: Any) -> None:
        """Ini values are listed by --pytest-help."""


def help_text() -> str:
    """``backup-drills run --help``: this command's options, then the drill plugin's."""
    from backup_drills.steps.plugin.entry import PLUGIN_MODULES  # the plugin's modules, as pytest loads them

    parser = argparse.ArgumentParser(
        prog=PROG, usage=f"{PROG} [--inventory FILE] [--features DIR]... [options] [pytest options]",
        description="Drill an inventory: the bundled features (and your own) run as pytest, in\n"
                    "and into the current folder (reports/, the evidence, pytest's cache). Each\n"
                    "drill option may also come from BACKUP_DRILLS_<NAME> (BACKUP_DRILLS_INVENTORY)\n"
                    "or pytest's ini file (drill_<name>), after the command line.",
        epilog=f"{PYTEST_OFTEN}\n{exit_table()}",
        formatter_class=argparse.RawDescriptionHelpFormatter, add_help=False)
    own = parser.add_argument_group("backup-drills run")
    own.add_argument("--features", metavar="DIR", action="append",
                     help="a folder of your own .feature files, drilled too (repeatable)")
    own.add_argument("--no-bundled", action="store_true",
                     help="leave the bundled features out (needs --features DIR)")
    own.add_argument("-h", "--help", action="store_true", help="this help")
    own.add_argument("--pytest-help", action="store_true",
                     help="pytest's own help: every option of pytest and its plugins")
    options = _Options(parser.add_argument_group("drill options"))
    for name in PLUGIN_MODULES:
        register = getattr(importlib.import_module(name), "pytest_addoption", None)
        if register is not None:
            register(options)
    return parser.format_help()


def run_main(args: list[str]) -> int:
    """``backup-drills run [--inventory FILE] [--features DIR]... [--no-bundled] [options]``:
    the exit code is the drill's (``backup_drills.exit_codes``)."""
    folders: list[str] = []
    rest: list[str] = []
    bundled_too, pytest_help = True, False
    words = iter(args)
    for word in words:
        if word in ("-h", "--help"):
            sys.stdout.write(help_text())
            return ExitCode.VERIFIED
        if word == "--pytest-help":
            pytest_help = True
        elif word == "--features":
            folders.append(next(words, ""))
        elif word.startswith("--features="):
            folders.append(word.split("=", 1)[1])
        elif word == "--no-bundled":
            bundled_too = False
        elif word == "--inventory":
            rest += ["--drill-inventory", next(words, "")]
        elif word.startswith("--inventory="):
            rest.append("--drill-inventory=" + word.split("=", 1)[1])
        else:
            rest.append(word)
    missing = [folder for folder in folders if not Path(folder).is_dir()]
    if missing:
        print(f"{PROG}: --features {missing[0] or '(nothing)'}: expected a folder of .feature files",
              file=sys.stderr)
        return ExitCode.BAD_INPUT
    chosen = ([str(bundled("features"))] if bundled_too else []) + folders
    if not chosen:
        print(f"{PROG}: --no-bundled needs at least one --features DIR", file=sys.stderr)
        return ExitCode.BAD_INPUT
    return _pytest(chosen, rest, pytest_help)


def _pytest(chosen: list[str], rest: list[str], pytest_help: bool) -> int:
    import pytest  # imported here: the other commands need no test runner

    # the features' common folder is pytest's rootdir (test IDs such as
    # repository.feature::test_restic_check_passes[...], and Allure's titles, are relative to
    # it); reports, evidence, the cache and an ini file are the current folder's
    here = Path.cwd()
    root = os.path.commonpath([str(Path(folder).resolve()) for folder in chosen])
    # no PytestAssertRewriteWarning although drills is imported: see PYTEST_DONT_REWRITE there
    options = [f"--rootdir={root}"]
    if not any(TESTINFRA_PLUGIN in word or word.endswith("testinfra") for word in rest):
        options += ["-p", f"no:{TESTINFRA_PLUGIN}"]
    if "no:cacheprovider" not in rest and "-pno:cacheprovider" not in rest:  # else no cache_dir option
        options += ["-o", f"cache_dir={here / '.pytest_cache'}"]
    ini = _ini_file(here)
    if ini is not None and "-c" not in rest and not any(w.startswith("--config-file") for w in rest):
        options += ["-c", str(ini)]
    if pytest_help:
        print(f"{PROG} --pytest-help: pytest's options (and its plugins'), given after {PROG};\n"
              f"the drill's own: {PROG} --help\n")
        return int(pytest.main([*options, *rest, "--help"]))
    return int(pytest.main([*chosen, *options, *rest]))


def _ini_file(folder: Path) -> Path | None:
    """The folder's pytest configuration, as pytest itself would find it there."""
    for name in ("pytest.ini", ".pytest.ini"):
        if (folder / name).is_file():
            return folder / name
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and "[tool.pytest.ini_options]" in pyproject.read_text(errors="replace"):
        return pyproject
    return None
