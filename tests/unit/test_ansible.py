"""Hosts and groups from Ansible inventories (YAML and INI, host_vars and group_vars)."""

import re
from pathlib import Path

import pytest

from backup_drills.inventory.schema import InventoryError, load_inventory

ROOT = Path(__file__).resolve().parents[2]


def test_the_ansible_example_validates_with_hosts_groups_and_vars():
    inventory = load_inventory(ROOT / "inventory/example-ansible.yml")
    hosts = inventory.hosts
    assert hosts["akira"].transport == "ssh://drill@akira.tailnet.example"
    assert hosts["akira"].ssh_identity_file is not None
    assert hosts["akira"].ssh_identity_file.endswith("/.ssh/drill_ed25519")
    assert hosts["akira"].credentials_env == "/etc/miket/storage-credentials.env"
    assert hosts["motoko"].sudo  # the explicit entry wins over Ansible's
    assert hosts["ws02.tailnet.example"].transport == "ssh://backup@ws02.tailnet.example"
    assert hosts["ws02.tailnet.example"].sudo  # ansible_become from group_vars
    ids = sorted(job.id for job in inventory.jobs.values())
    assert ids == [
        "flux-backup@motoko",
        "home-backup@ws01.tailnet.example",
        "home-backup@ws02.tailnet.example",
        "home-backup@ws03.tailnet.example",
    ]


def write(tmp_path: Path, ansible: str, jobs: str, ini: str | None = None) -> Path:
    if ini is not None:
        (tmp_path / "hosts.ini").write_text(ini)
    path = tmp_path / "inv.yml"
    path.write_text(f"name: t\n{ansible}\njobs:\n{jobs}")
    return path


JOB = "    kind: restic\n    source: /data\n    repository: /srv/repo\n    rpo: 26h\n    rto: 1h\n"
INI = "[db]\npg1 ansible_host=10.9.0.1 ansible_port=2200\npg2\n\n[db:vars]\nansible_user=ops\n"


def test_an_ini_inventory_and_a_group_job(tmp_path):
    path = write(
        tmp_path,
        "ansible: {inventory: hosts.ini, transport: paramiko}",
        "  dumps:\n    group: db\n" + JOB,
        INI,
    )
    inventory = load_inventory(path)
    assert inventory.hosts["pg1"].transport == "paramiko://ops@10.9.0.1:2200"
    assert sorted(job.id for job in inventory.jobs.values()) == ["dumps@pg1", "dumps@pg2"]


@pytest.mark.parametrize(
    ("ansible", "jobs", "ini", "expected"),
    [
        (
            "ansible: {inventory: nope.ini}",
            "  j:\n    host: x\n" + JOB,
            None,
            "ansible.inventory: {dir}/nope.ini: no such Ansible inventory",
        ),
        (
            "ansible: {inventory: hosts.ini}",
            "  j:\n    group: web\n" + JOB,
            INI,
            "jobs.j.group: expected a group of hosts.ini, one of ['all', 'db', 'ungrouped'], got 'web'",
        ),
        (
            "ansible: {inventory: hosts.ini, transport: telnet}",
            "  j:\n    host: pg1\n" + JOB,
            INI,
            "ansible.transport = 'telnet': Input should be 'ssh' or 'paramiko'",
        ),
        (
            "ansible: {inventory: hosts.ini}",
            "  j:\n    host: pg1\n" + JOB,
            "[db\npg1 = = =\n",
            "ansible.inventory: {dir}/hosts.ini: not a readable Ansible inventory",
        ),
        (
            "",
            "  j:\n    group: db\n" + JOB,
            None,
            "jobs.j: expected 'host' (or 'group', with an 'ansible:' inventory)",
        ),
    ],
)
def test_bad_ansible_input_is_named(tmp_path, ansible, jobs, ini, expected):
    path = write(tmp_path, ansible, jobs, ini)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(caught.value))
    assert expected.format(dir=tmp_path) in str(caught.value)
