"""Hosts and groups from an Ansible inventory (YAML or INI, ``host_vars``/``group_vars``), read
with ansible-core's own loader, so an operator keeps one list of hosts.

    >>> estate = read_ansible(Path("ansible/hosts.ini"), "ssh", {"sudo": True})  # doctest: +SKIP
    >>> estate.hosts["akira"]["transport"]                                     # doctest: +SKIP
    'ssh://mdt@10.0.0.5'
    >>> estate.groups["backup_servers"]                                        # doctest: +SKIP
    ['akira', 'motoko']

Connection variables used: ``ansible_host``, ``ansible_port``, ``ansible_user``,
``ansible_ssh_private_key_file`` and ``ansible_become`` (drill commands then run through sudo).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AnsibleInventoryError(ValueError):
    """The Ansible inventory could not be read; the message names its file."""


@dataclass(frozen=True)
class AnsibleEstate:
    hosts: dict[str, dict[str, Any]]
    groups: dict[str, list[str]]


def _transport(scheme: str, name: str, facts: dict[str, Any]) -> str:
    user = facts.get("ansible_user")
    address = facts.get("ansible_host") or name
    port = facts.get("ansible_port")
    return f"{scheme}://{f'{user}@' if user else ''}{address}{f':{port}' if port else ''}"


def read_ansible(path: Path, scheme: str, defaults: dict[str, Any]) -> AnsibleEstate:
    """Host entries (inventory ``hosts:`` fields) and group memberships of an Ansible inventory."""
    if not path.exists():
        raise AnsibleInventoryError(f"{path}: no such Ansible inventory")
    os.environ.setdefault("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
    os.environ.setdefault("ANSIBLE_LOCALHOST_WARNING", "false")
    try:
        from ansible.errors import AnsibleError  # imported here: ansible-core is slow to import
    except ImportError:
        from backup_drills.core.extras import install_hint

        raise AnsibleInventoryError("reading an Ansible inventory needs ansible-core: "
                                    f"{install_hint('ansible', 'ansible-core')}") from None
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    try:
        inventory = InventoryManager(loader=loader, sources=[str(path)])
        variables = VariableManager(loader=loader, inventory=inventory)
        hosts: dict[str, dict[str, Any]] = {}
        for host in inventory.get_hosts():
            facts = variables.get_vars(host=host)
            entry = {**defaults, "transport": _transport(scheme, host.name, facts)}
            if facts.get("ansible_ssh_private_key_file"):
                entry["ssh_identity_file"] = str(facts["ansible_ssh_private_key_file"])
            if facts.get("ansible_become") is not None:
                entry["sudo"] = bool(facts["ansible_become"])
            hosts[host.name] = entry
        groups = {name: sorted(h.name for h in group.get_hosts())
                  for name, group in inventory.groups.items()}
    except AnsibleError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AnsibleInventoryError(f"{path}: not a readable Ansible inventory: {first}") from exc
    return AnsibleEstate(hosts, groups)
