"""The typed drill engine: inventory, transports, one adapter per tool, verification, evidence.

Nothing here imports pytest-bdd: steps in ``steps/`` parse sentences and call into this package.

PYTEST_DONT_REWRITE: ``backup-drills run`` has imported this package before its pytest starts, and
pytest marks every package of the pytest11 plugin's distribution for assertion rewriting; this
word in this docstring (pytest's own switch) tells it this module needs none, so it warns of no
module "already imported" (an error, exit 1, where an ini says ``filterwarnings = error``).
The engine's few asserts only narrow types; its modules are still rewritten when pytest
imports them first.
"""

__version__ = "0.1.0"
