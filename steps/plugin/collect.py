"""Gherkin files are collected as they are: ``pytest features/`` (or a user's own folder of
``.feature`` files, no Python module needed) runs every scenario once per inventory job it
applies to. Test IDs name the feature file, the scenario and the job:

    $ pytest "features/repository.feature::test_restic_check_passes[flux-backup@motoko]"
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import scenarios

from backup_drills.inventory.schema import Job


def drilled_job(job: Job) -> Job:
    """Every scenario drills one job: ``job`` is parametrized per job it applies to
    (steps/plugin/selection.py); as an autouse fixture of each feature module (not of this plugin, which
    would give every test of the session a job), it puts ``job`` in each scenario's closure."""
    return job


class FeatureModule(pytest.Module):
    """A ``.feature`` file as a test module: pytest-bdd's ``scenarios()`` run in a fresh module
    namespace, beside the fixture that gives each scenario its job."""

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(f"feature:{self.path.stem}")
        module.__file__ = str(self.path)
        module.__dict__.update(scenarios=scenarios, _drilled_job=pytest.fixture(autouse=True)(drilled_job),
                               _path=str(self.path), _base=str(self.path.parent))
        exec("scenarios(_path, features_base_dir=_base)", module.__dict__)  # its locals get the tests
        return module


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    if file_path.suffix == ".feature":
        return FeatureModule.from_parent(parent, path=file_path)
    return None
