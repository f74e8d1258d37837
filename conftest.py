"""Root conftest: the suite's plugins and its step modules (see DESIGN.md, layout)."""

from steps import STEP_MODULES

pytest_plugins = ["steps.plugin", "steps.reporting", "steps.parallel", "steps.catalogue", *STEP_MODULES]
