"""The ``pytest11`` entry point of the installed package: every plugin module of the suite and
its step modules. ``pip install backup-drills`` is all a user's pytest needs:

    $ pytest my-features/ --inventory prod.yml
"""

from steps import STEP_MODULES

PLUGIN_MODULES = ("steps.plugin.options", "steps.plugin.selection", "steps.plugin.probing",
                  "steps.plugin.fixtures", "steps.plugin.session", "steps.plugin.reporting",
                  "steps.plugin.parallel", "steps.plugin.catalogue", "steps.plugin.collect",
                  "steps.plugin.announce")
pytest_plugins = [*PLUGIN_MODULES, *STEP_MODULES]
