"""borg.feature on saito, a host set up as a borgmatic user would (Debian's borgmatic 1.9, its
stock timer, /etc/borgmatic/config.yaml with exclude_patterns, exclude_caches and an
encryption_passcommand; no env file): the job is read from the host's configuration, the
healthy restore does not miss what borgmatic excludes, a flipped byte in a segment is NOT
COMPLIANT named by borg's own line (through borgmatic's passcommand), and the estate's own stock
borgmatic.service runs again once the repository is put back. Then saito's second configuration,
its passphrase only from the stock unit's systemd credential: a wrong or missing credential could
not run, named by host, job and credential, never by value."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from tests.faults.conftest import LabHost
from tests.faults.test_borg import repository_kept

pytestmark = [pytest.mark.lab, pytest.mark.touches("saito")]

JOB, WHO = "saito-borgmatic@saito", "host saito, job saito-borgmatic"
REPO = "/srv/borg/saito"
CHECK = "test_borg_check_passes"
RESTORE = "test_the_newest_borg_archive_restores_byteidentical_within_the_rto"
FRESH = "test_the_newest_borg_archive_is_younger_than_the_rpo"
# saito-credential: /etc/borgmatic.d/credential.yaml's encryption_passphrase is "{credential
# systemd borgmatic_pw}", loaded by a drop-in of borgmatic.service (lab/estate.py)
CREDENTIAL_JOB, CREDENTIAL_WHO = "saito-credential@saito", "with job saito-credential's"
CREDENTIAL = "/etc/credstore.encrypted/borgmatic_pw"
NAMED = "credentials_unit borgmatic.service, its credential borgmatic_pw"
# the stock unit's ExecStartPre=sleep 1m keeps a backup from running while a machine boots: a
# runtime drop-in (/run, gone with the container) empties it for one start, a minute less of
# saito's tests; the unit's ExecStart, sandbox and credential drop-in stay as Debian and the lab
# have them
NO_BOOT_DELAY = "/run/systemd/system/borgmatic.service.d/zz-no-boot-delay.conf"


@contextmanager
def without_boot_delay(host: LabHost) -> Iterator[None]:
    folder = NO_BOOT_DELAY.rsplit("/", 1)[0]
    host.sh(f"mkdir -p {folder} && printf '[Service]\\nExecStartPre=\\n' > {NO_BOOT_DELAY} && "
            "systemctl daemon-reload")
    try:
        yield
    finally:
        host.sh(f"rm -f {NO_BOOT_DELAY} && systemctl daemon-reload")


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
    # the estate's own process: Debian's stock unit (borgmatic creates, prunes, compacts and
    # checks with its passcommand), without the minute it waits at boot
    with without_boot_delay(saito):
        assert saito.sh("systemctl show -p ExecStartPre --value borgmatic.service").strip() == ""
        saito.sh("systemctl start borgmatic.service", timeout=600)
    assert "sleep" in saito.sh("systemctl show -p ExecStartPre --value borgmatic.service")  # put back
    assert saito.sh("systemctl show -p Result --value borgmatic.service").strip() == "success"
    drill.healed(CHECK, JOB)
    drill.healed(FRESH, JOB)
    drill.healed(RESTORE, JOB)


def test_a_wrong_or_missing_systemd_credential_could_not_run_named_never_shown(drill):
    """The passphrase reaches borgmatic only as the stock unit's systemd credential (the drill
    loads it as borgmatic.service does, into $CREDENTIALS_DIRECTORY): one encrypted with the wrong
    passphrase, then none at all, could not run, named by host, job and credential; neither the
    wrong value nor the right one is in the output or anything the drill wrote."""
    saito = LabHost("saito")
    right = saito.sh(f"systemd-creds decrypt --name=borgmatic_pw {CREDENTIAL} - 2>/dev/null")
    assert len(right) >= 16  # the lab's credential decrypts on the host
    wrong = f"not-the-passphrase-{secrets.token_hex(4)}"
    with saito.keep(CREDENTIAL):
        saito.sh(f"umask 077; printf %s {wrong} | systemd-creds encrypt --with-key=host "
                 f"--name=borgmatic_pw - {CREDENTIAL} 2>/dev/null")
        run = drill.run(CHECK, CREDENTIAL_JOB)
        run.expect_failure("host saito", "refused the credentials (the passphrase borgmatic gives borg)",
                           f"{CREDENTIAL_WHO} {NAMED}", exit_code=2)
        assert drill.leaks(SimpleNamespace(stdout=run.output, stderr=""), [wrong, right]) == []
        saito.sh(f"rm {CREDENTIAL}")
        run = drill.run(CHECK, CREDENTIAL_JOB)
        run.expect_failure("host saito", "cannot load its credential borgmatic_pw: no borgmatic_pw in "
                           "/etc/credstore.encrypted", f"{CREDENTIAL_WHO} {NAMED}", exit_code=2)
        assert drill.leaks(SimpleNamespace(stdout=run.output, stderr=""), [wrong, right]) == []
    # put back as its admin keeps it: root's 0600, the one the stock unit loads
    assert saito.sh(f"stat -c '%U %a' {CREDENTIAL}").strip() == "root 600"
    drill.healed(CHECK, CREDENTIAL_JOB)
    drill.healed(RESTORE, CREDENTIAL_JOB)
