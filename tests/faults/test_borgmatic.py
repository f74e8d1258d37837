"""borg.feature on saito, a host set up as a borgmatic user would (Debian's borgmatic 1.9, its
stock timer, /etc/borgmatic/config.yaml with exclude_patterns, exclude_caches and an
encryption_passcommand; no env file): the job is read from the host's configuration, the
healthy restore does not miss what borgmatic excludes, a flipped byte in a segment is NOT
COMPLIANT named by borg's own line (through borgmatic's passcommand), and the estate's own stock
borgmatic.service runs again once the repository is put back."""

import pytest

from tests.faults.conftest import LabHost
from tests.faults.test_borg import repository_kept

pytestmark = [pytest.mark.lab, pytest.mark.touches("saito")]

JOB, WHO = "saito-borgmatic@saito", "host saito, job saito-borgmatic"
REPO = "/srv/borg/saito"
CHECK = "test_borg_check_passes"
RESTORE = "test_the_newest_borg_archive_restores_byteidentical_within_the_rto"
FRESH = "test_the_newest_borg_archive_is_younger_than_the_rpo"


def test_borgmatics_excludes_are_honoured_and_a_flipped_byte_is_not_compliant(drill):
    saito = LabHost("saito")
    assert saito.sh("ls /etc/miket/*.env 2>/dev/null || true").strip() == ""  # no env file to load
    # what the configuration excludes exists on the host: '*.tmp', /srv/data/cache, a CACHEDIR.TAG
    assert saito.sh("ls /srv/data/active/project-alpha/src/*.tmp /srv/data/cache "
                    "/srv/data/scratch/tmp/CACHEDIR.TAG | wc -l").strip() != "0"
    healthy = drill.run(RESTORE, JOB)
    healthy.expect_pass()  # byte-identical: nothing borgmatic excludes is reported missing
    assert "missing" not in healthy.output, healthy.output
    with repository_kept(saito, REPO):
        largest = saito.sh(f"ls -S {REPO}/data/*/* | head -1").strip()
        saito.sh(f"size=$(stat -c %s {largest}); printf 'X' | dd of={largest} bs=1 "
                 f"seek=$((size / 2)) conv=notrunc status=none")
        run = drill.run(CHECK, JOB)
        run.expect_failure(WHO, f"borg check of {REPO} failed", "Segment entry checksum mismatch [segment ")
        assert "COULD NOT RUN" not in run.output, run.output
    # the estate's own process: Debian's stock unit (it waits a minute, then borgmatic creates,
    # prunes, compacts and checks with its passcommand)
    saito.sh("systemctl start borgmatic.service", timeout=600)
    assert saito.sh("systemctl show -p Result --value borgmatic.service").strip() == "success"
    drill.healed(CHECK, JOB)
    drill.healed(FRESH, JOB)
    drill.healed(RESTORE, JOB)
