import re
from pathlib import Path

import pytest
import yaml

from backup_drills.inventory.schema import InventoryError, Job, load_inventory

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
name: t
hosts:
  h1: {transport: "ssh://backup@h1.example.net"}
jobs:
  j1:
    host: h1
    kind: restic
    source: /data
    repository: s3:https://s3.example.net/bucket/j1
    rpo: 26h
    rto: 4h
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["lab.yml", "example.yml", "example-ansible.yml"])
def test_shipped_inventories_validate(name):
    inventory = load_inventory(ROOT / "inventory" / name)
    assert inventory.jobs
    for job in inventory.jobs.values():
        assert job.host in inventory.hosts


def test_jobs_are_named_and_selected_by_kind_or_capability(tmp_path):
    inventory = load_inventory(write(tmp_path, GOOD))
    job = inventory.jobs["j1"]
    assert (job.name, job.id, job.rpo.total_seconds()) == ("j1", "j1@h1", 93600)
    assert inventory.jobs_for(kind="restic") == [job]
    assert inventory.jobs_for(needs="schedule") == []


@pytest.mark.parametrize(
    ("old", "new", "where", "expected"),
    [
        ("rpo: 26h", "rpo: soon", "jobs.j1.rpo", "expected a duration such as 26h"),
        ("rpo: 26h", "rpo: 26h\n    rpoo: 1h", "jobs.j1.rpoo", "unknown key (did you mean 'rpo'?)"),
        ("    rto: 4h\n", "", "jobs.j1", "a restic job needs 'rto'"),
        ("source: /data", "source: data", "jobs.j1.source", "expected an absolute path"),
        ("ssh://backup@h1", "ftp://backup@h1", "hosts.h1.transport", "expected a URL starting"),
        ("host: h1", "host: h2", "jobs.j1.host", "expected a host of the inventory, one of ['h1'], got 'h2'"),
        ("kind: restic", "kind: tarball", "jobs.j1.kind",
         "expected a job kind among borg, borgmatic, clickhouse-backup, gpg-tar, pg-dump, rclone-mirror, "
         "redis-rdb, restic, restic-check, restore-test, got 'tarball'"),
        ("name: t\n", "", "name", "required key is missing"),
        ("    rto: 4h\n", "    rto: 4h\n    endpoints: [{url: 'http://u:pw@s3.example.net/', status: 403}]\n",
         "jobs.j1.endpoints.0.url", "expected a URL without credentials"),
        ("    rto: 4h\n", "    rto: 4h\n    retention: {daily: -1}\n", "jobs.j1.retention.daily",
         "greater than or equal to 0"),
        ('"ssh://backup@h1.example.net"', '"paramiko://backup@h1.example.net", jump_host: b1',
         "hosts.h1", "jump_host needs an ssh:// transport"),
        ('"ssh://backup@h1.example.net"', '"docker://h1", ssh_host_key: "ssh-ed25519 AAAA"',
         "hosts.h1", "ssh_known_hosts and ssh_host_key need an ssh:// or paramiko:// transport"),
        ('"ssh://backup@h1.example.net"', '"ssh://h1", ssh_host_key: "ssh-ed25519 AAAA", ssh_known_hosts: /k',
         "hosts.h1", "expected one of them, got both"),
        ('"ssh://backup@h1.example.net"', '"ssh://h1", ssh_host_key: "AAAAC3Nza"',
         "hosts.h1.ssh_host_key", "expected a public host key line such as 'ssh-ed25519 AAAAC3Nza...'"),
        ("kind: restic", "kind: pg-dump", "jobs.j1", "a pg-dump job needs 'dump'"),
        ("kind: restic", "kind: pg-dump\n    dump: {path: /data/db.dump}", "jobs.j1",
         "a pg-dump job needs 'dump.database'"),
        ("kind: restic", "kind: clickhouse-backup\n    dump: {path: /data/ch.tar, database: a}",
         "jobs.j1", "a clickhouse-backup job needs 'dump.remote' and 'dump.tiers'"),
        ("kind: restic", "kind: clickhouse-backup\n    dump: {remote: 'm:b/ch', tiers: {daily: 7}}",
         "jobs.j1", "a clickhouse-backup job needs 'dump.database'"),
        ("kind: restic", "kind: redis-rdb\n    dump: {path: /var/lib/redis/dump.rdb}", "jobs.j1",
         "dump.path: expected a path inside the job's source /data"),
        ("    rto: 4h\n", "    rto: 4h\n    cron: {file: /etc/cron.d/b, schedule: '0 2 * *', command: b}\n",
         "jobs.j1.cron.schedule", "expected a cron schedule of five fields"),
        ("    rto: 4h\n", "    rto: 4h\n    metrics: {url: 'pushgateway:9091'}\n", "jobs.j1.metrics.url",
         "expected an http:// or https:// URL"),
    ],
)
def test_bad_inventories_name_file_key_and_expectation(tmp_path, old, new, where, expected):
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: {re.escape(where)}( = .+)?: ", message), message
    assert expected in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("name: [unclosed", "not valid YAML"), ("- a list", "expected a mapping"), ("", "expected a mapping")],
)
def test_unparsable_files_are_named(tmp_path, text, expected):
    with pytest.raises(InventoryError, match=expected):
        load_inventory(write(tmp_path, text))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InventoryError, match=r"nope\.yml: cannot read inventory"):
        load_inventory(tmp_path / "nope.yml")


def test_a_dump_path_comes_from_the_snapshots_or_the_mirror_not_both(tmp_path):
    base = {"name": "db", "host": "h", "kind": "pg-dump", "source": "/space", "rpo": "26h",
            "rto": "1h", "dump": {"path": "/space/db/nextcloud.dump", "database": "nextcloud"}}
    assert Job.model_validate({**base, "destination": "b2mirror:space-mirror"}).destination
    assert Job.model_validate({**base, "repository": "s3:http://store/repo"}).repository
    for extra in ({}, {"destination": "m:b", "repository": "s3:http://store/repo"}):
        with pytest.raises(ValueError, match="one of 'repository' and 'destination'"):
            Job.model_validate({**base, **extra})


@pytest.mark.parametrize(("rpo", "expected"), [(86400000000000.0, "expected a duration with its unit"),
                                               ("99999999999d", "expected a duration of less than")])
def test_a_duration_beyond_what_python_holds_is_named_not_a_traceback(tmp_path, rpo, expected):
    """Found by the fuzz test: a huge number of seconds overflowed timedelta (a number alone is
    now refused for having no unit)."""
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["jobs"]["flux-backup"]["rpo"] = rpo
    path = tmp_path / "huge.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(InventoryError, match=rf"jobs\.flux-backup\.rpo( = \S+)?: {expected}"):
        load_inventory(path)
