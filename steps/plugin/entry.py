"""The ``pytest11`` entry point of the installed package: every plugin module of the suite and
its step modules. ``pip install backup-drills`` is all a user's pytest needs:

    $ pytest my-features/ --inventory prod.yml
"""

from backup_drills.steps import STEP_MODULES

PLUGIN_MODULES = tuple(f"backup_drills.steps.plugin.{name}" for name in (
    "options", "selection", "probing", "fixtures", "session", "reporting",
    "parallel", "catalogue", "collect", "announce"))
pytest_plugins = [*PLUGIN_MODULES, *STEP_MODULES]
