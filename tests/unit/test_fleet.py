import doctest

import yaml

import lab.estate
from drills.inventory.schema import load_inventory
from lab.estate import fleet_inventory


def test_the_fleet_inventory_validates_with_one_restic_job_per_workspace_host(tmp_path):
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(fleet_inventory(16, "/state/ssh_config"), allow_unicode=True))
    inventory = load_inventory(path)
    assert sorted(inventory.hosts) == [f"ws{i:02d}" for i in range(1, 17)]
    jobs = inventory.jobs_for(kind="restic")
    assert len(jobs) == 16
    assert len({job.repository for job in jobs}) == 16  # no two hosts share a repository
    assert jobs[0].repository == "s3:http://objectstore:8333/backups-restic/fleet-ws01"


def test_the_lab_estate_examples_run():
    assert doctest.testmod(lab.estate).failed == 0
