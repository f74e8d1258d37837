"""The ``pytest11`` entry point of the installed package: every plugin module of the suite and
its step modules. ``pip install backup-drills`` is all a user's pytest needs:

    $ pytest my-features/ --inventory prod.yml
"""

from steps import STEP_MODULES

pytest_plugins = ["steps.plugin", "steps.reporting", "steps.parallel", "steps.catalogue", "steps.collect",
                  *STEP_MODULES]
