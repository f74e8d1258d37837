"""Where the features and example inventories that ship with the suite are: inside the installed
package (``drills/features``, ``drills/examples``), or in the checkout it runs from
(``features/``, ``inventory/``).

    >>> bundled("features").name in ("features",)
    True
"""

from __future__ import annotations

from pathlib import Path

_IN_CHECKOUT = {"features": "features", "examples": "inventory"}


def bundled(folder: str) -> Path:
    """The bundled ``features`` or ``examples`` folder."""
    if folder not in _IN_CHECKOUT:
        raise ValueError(f"expected one of {sorted(_IN_CHECKOUT)}, got {folder!r}")
    package = Path(__file__).parents[1]  # drills/
    installed = package / folder
    return (installed if installed.is_dir() else package.parent / _IN_CHECKOUT[folder]).resolve()
