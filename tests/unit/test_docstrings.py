"""The examples in the engine's docstrings run (those that need a host are marked +SKIP)."""

import doctest
import importlib
import pkgutil

import pytest

import backup_drills

MODULES = [m.name for m in pkgutil.walk_packages(backup_drills.__path__, "backup_drills.")
           if not m.name.startswith("backup_drills.steps")]  # the engine's; steps load as a plugin


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
