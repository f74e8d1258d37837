"""The typed drill engine: inventory, transports, one adapter per tool, verification, evidence.

Nothing here imports pytest-bdd: steps in ``steps/`` parse sentences and call into this package.
"""

__version__ = "0.1.0"
