"""Which backup tools a host has, and their versions (for the report's environment).

    >>> tool_versions(remote)                          # doctest: +SKIP
    {'restic': 'restic 0.14.0', 'rclone': 'rclone v1.60.1-DEV'}
"""

from __future__ import annotations

import re

from backup_drills.core.transport import Remote

_VERSION = re.compile(r"v?\d+\.\d+")

TOOLS = {"restic": "restic version", "rclone": "rclone version", "pg_dump": "pg_dump --version"}


def tool_versions(remote: Remote) -> dict[str, str]:
    """First line of each tool's version output; tools the host lacks are left out."""
    script = "; ".join(f"echo '@{name}'; {command} 2>/dev/null | head -n 1"
                       for name, command in TOOLS.items())
    found: dict[str, str] = {}
    current = ""
    for line in remote.run(script, privileged=False).text.splitlines():
        if line.startswith("@") and line[1:] in TOOLS:
            current = line[1:]
        elif current and line.strip() and current not in found:
            version = next((w for w in line.split()[1:] if _VERSION.match(w)), "")
            found[current] = f"{current} {version}".strip()
    return found
