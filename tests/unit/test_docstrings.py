"""The examples in the engine's docstrings run (those that need a host are marked +SKIP)."""

import doctest
import importlib
import pkgutil

import pytest

import drills

MODULES = [m.name for m in pkgutil.walk_packages(drills.__path__, "drills.")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
