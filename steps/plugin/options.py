"""The drill's options and what the rest of the plugin reads from them: ``--drill-inventory``
and the other drill settings (each also from ``BACKUP_DRILLS_<NAME>`` or the ini file's
``drill_<name>``), whether the run drills features, where evidence goes, whether this process
is an xdist worker; and the two stash keys every part of the plugin reads: ``RUN``, the run's
one state (``backup_drills.core.run.DrillRun``), and ``DRILLING``.

    $ pytest features/ --drill-inventory inventory/lab.yml --remote-timeout 60
"""

from __future__ import annotations

import argparse
import gc
import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from backup_drills.core.backends import PROBE_LIMIT
from backup_drills.core.run import DrillRun

RUN = pytest.StashKey[DrillRun]()  # the run's one state (backup_drills.core.run), while pytest runs


DRILLING = pytest.StashKey[bool]()


LAB_INVENTORY = "inventory/lab.yml"  # a checkout's default


# every drill option may also come from the environment (BACKUP_DRILLS_<NAME>) or the ini file
# (drill_<name>), in that order after the command line
SETTINGS: dict[str, tuple[type, Any]] = {
    "inventory": (str, None), "remote_timeout": (float, 30.0), "probe_timeout": (float, PROBE_LIMIT),
    "evidence_dir": (str, "reports/evidence"), "sign_evidence": (str, None),
    "prometheus_textfile": (str, None), "waivers": (str, None), "shard": (str, None),
    "progress_every": (float, 30.0)}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backup drills")
    group.addoption("--drill-inventory", dest="inventory", default=None, metavar="FILE",
                    help="inventory of hosts and jobs to drill (in a checkout: inventory/lab.yml); "
                         "also --inventory FILE, where no other plugin (pytest-ansible) takes it")
    group.addoption("--remote-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds any single remote command may take before it is killed, "
                         "except restores and checks, which have their own (default: 30)")
    group.addoption("--probe-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds the up-front probe of each repository and bucket may take "
                         f"before its scenarios are COULD NOT RUN (default: {PROBE_LIMIT:.0f})")
    group.addoption("--progress-every", type=float, default=None, metavar="SECONDS",
                    help="seconds between the progress lines of a long remote command (a "
                         "restore says how much it has written; default: 30)")
    group.addoption("--evidence-dir", default=None, metavar="DIR",
                    help="where evidence JSON is written (default: reports/evidence)")
    group.addoption("--allow-writes", action="store_true", default=False,
                    help="run the @writes scenarios (a canary planted, an on-demand backup) for "
                         "every job, not only for the jobs that declare `writes: allowed`")
    group.addoption("--shard", default=None, metavar="I/N",
                    help="drill the hosts of the i-th of n parts (every job of a host in the same "
                         "part; balanced by past drill times); merge the parts with "
                         "`backup-drills merge`")
    for name in SETTINGS:
        flag = "--drill-inventory" if name == "inventory" else f"--{name.replace('_', '-')}"
        parser.addini(f"drill_{name}", f"{flag}, unless given on the command "
                                       f"line or as BACKUP_DRILLS_{name.upper()}", default="")


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(parser: pytest.Parser) -> Generator[None, object, object]:
    """``--inventory``, the old spelling of ``--drill-inventory``, once every installed plugin and
    the initial conftest files have registered their options, and only when none took it:
    pytest-ansible's ``--inventory`` is its own, and registering ours too would stop pytest at
    start ("conflicting option string")."""
    result = yield
    group = parser.getgroup("backup drills")
    try:
        group.addoption("--inventory", dest="inventory", default=None, metavar="FILE",
                        help="the old spelling of --drill-inventory")
        parser.parse_known_args([])  # pytest 8 builds its argparse parser here: a clash shows now
    except (argparse.ArgumentError, ValueError):
        group.options[:] = [option for option in group.options if "--inventory" not in option.names()]
    return result


def resolve_settings(config: pytest.Config) -> None:
    """Each drill option from the command line, else ``BACKUP_DRILLS_<NAME>``, else the ini
    file's ``drill_<name>`` (paths relative to the ini file), else its default."""
    for name, (kind, default) in SETTINGS.items():
        if getattr(config.option, name, None) is not None:
            continue
        where, value = f"BACKUP_DRILLS_{name.upper()}", os.environ.get(f"BACKUP_DRILLS_{name.upper()}")
        if not value:
            where, value = f"ini option drill_{name}", str(config.getini(f"drill_{name}") or "")
            if value and kind is str and config.inipath is not None:
                value = str(config.inipath.parent / value)
        if not value:
            setattr(config.option, name, default)
            continue
        try:
            setattr(config.option, name, kind(value))
        except ValueError:
            raise pytest.UsageError(f"{where}: expected a number of seconds, got {value!r}") from None


def inventory_path(config: pytest.Config) -> Path | None:
    """The inventory to drill: as configured, else a checkout's inventory/lab.yml, else none."""
    chosen = config.getoption("inventory")
    if chosen:
        path = Path(chosen).expanduser()
        return path if path.is_absolute() else config.invocation_params.dir / path
    lab = config.rootpath / LAB_INVENTORY
    return lab if lab.exists() else None


def drills_features(config: pytest.Config) -> bool:
    """True when the run collects Gherkin features (a ``.feature`` file, or a folder holding
    one), so it is a drill with reports, not a run of other tests."""
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        path = path if path.is_absolute() else config.invocation_params.dir / path
        if path.suffix == ".feature" or (path.is_dir() and _holds_features(path)):
            return True
    return False


def _holds_features(folder: Path) -> bool:
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d not in _NOT_FEATURES]
        if any(name.endswith(".feature") for name in files):
            return True
    return False


_NOT_FEATURES = {"node_modules", "site-packages", "venv", "reports", "build", "dist"}


@contextmanager
def cycles_kept() -> Iterator[None]:
    """No cyclic garbage collection inside: reading a fleet's inventory and collecting its tests
    allocate millions of objects that all live on, and each collection of the oldest generation
    walks all of them again (50,000 jobs: three times the CPU of the reading itself). Nothing
    is lost: the collector runs again after, at its own thresholds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def evidence_dir(config: pytest.Config) -> Path:
    """``--evidence-dir``, relative to where pytest was started unless absolute."""
    return config.invocation_params.dir / Path(config.getoption("evidence_dir")).expanduser()


def is_worker(config: pytest.Config) -> bool:
    """True inside a pytest-xdist worker: its results go to the controller (steps/plugin/parallel.py),
    which writes the run's outputs once."""
    return hasattr(config, "workerinput")
