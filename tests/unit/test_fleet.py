import doctest

import pytest
import yaml

import lab.estate
from backup_drills.inventory.schema import load_inventory
from lab.estate import Lab, LabError, fleet_inventory


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


def test_a_big_fleet_raises_the_inotify_limit_its_systemds_need_or_says_how(tmp_path):
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    lines: list[str] = []
    estate = Lab.__new__(Lab)  # no Docker needed for this part
    estate.log = lines.append
    estate._inotify_room(55, limit)
    assert limit.read_text() == "568\n"
    assert lines == ["raised fs.inotify.max_user_instances from 128 to 568 for 55 hosts"]
    estate._inotify_room(7, limit)  # enough already: left as it is
    assert limit.read_text() == "568\n"

    class ReadOnly:  # not root: /proc/sys refuses the write
        def read_text(self):
            return "128\n"

        def write_text(self, text):
            raise PermissionError(13, "Permission denied")

    said = r"55 lab hosts need fs.inotify.max_user_instances >= 568 \(it is 128\): `sudo sysctl .*=568`"
    with pytest.raises(LabError, match=said):
        estate._inotify_room(55, ReadOnly())
