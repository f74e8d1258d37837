"""credentials.feature and endpoints.feature bite: a credentials file others can read, or owned
by someone else, and a store that stops answering, are each named; then healed. A job's own
credential forms (an env file, a password file, a password command decrypting a systemd
credential) drill its repository, and a wrong or exposed password file is named."""

import os

import docker
import pytest
import yaml

from lab.estate import ENV_FILE, PREFIX
from tests.faults.conftest import ROOT, LabHost, scenario_node

pytestmark = pytest.mark.lab

PRIVATE = "test_the_credentials_file_is_private_to_its_owner"
ENDPOINTS = "test_every_endpoint_answers_with_its_expected_status"


@pytest.mark.parametrize(
    ("host_name", "job_name", "fault", "heal", "why"),
    [
        pytest.param("akira", "space-mirror", "chmod 0644", "chmod 0600", "mode 0644 lets group or others in",
                     marks=pytest.mark.touches("akira")),
        pytest.param("motoko", "flux-backup", "chown nobody", "chown root", "owned by nobody, not root",
                     marks=pytest.mark.touches("motoko")),
    ],
    ids=["readable-by-others", "owned-by-another-user"],
)
def test_a_credentials_file_not_private_fails_naming_host_job_path(
    drill, host_name, job_name, fault, heal, why
):
    lab_host, job_id = LabHost(host_name), f"{job_name}@{host_name}"
    drill.run(PRIVATE, job_id).expect_pass()
    lab_host.sh(f"{fault} {ENV_FILE}")
    try:
        drill.run(PRIVATE, job_id).expect_failure(f"host {host_name}, job {job_name}", ENV_FILE, why)
    finally:
        lab_host.sh(f"{heal} {ENV_FILE}")
    drill.healed(PRIVATE, job_id)


# batou's jobs, each switched to a credential form of its own (no value leaves the host: the
# files are made on batou from its own env file)
JOB_ENV, PASSWORD_FILE = "/etc/miket/batou-backup.env", "/etc/miket/batou-backup.pw"
BORG_PASSWORD_FILE = "/etc/miket/batou-borg.pw"
CREDSTORE = "/etc/credstore.encrypted"  # systemd's, where LoadCredentialEncrypted=NAME looks
HOST_KEY = "/var/lib/systemd/credential.secret"  # systemd-creds' host key, made on first use
# a runtime drop-in of batou's own restic unit: the unit loads the repository's password
DROP_IN = "/run/systemd/system/flux-backup.service.d/drill-credentials.conf"
SWITCHED = {
    "batou-backup@batou": ("test_restic_check_passes", "test_the_latest_snapshot_is_younger_than_the_rpo",
                           "test_a_single_file_restores_exactly", PRIVATE),
    "batou-borg@batou": ("test_borg_check_passes", "test_the_newest_borg_archive_is_younger_than_the_rpo",
                         "test_the_newest_borg_archive_restores_byteidentical_within_the_rto"),
}


def drill_scenarios(drill, jobs: dict[str, dict[str, object]], scenarios: dict[str, tuple[str, ...]]):
    """Several scenarios of several jobs in one drill (one pytest, one probe of the host), with
    some keys of some jobs of the lab inventory changed."""
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    for job, changes in jobs.items():
        doc["jobs"][job] |= changes
    inventory = drill.tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True))
    nodes = [f"{scenario_node(test)}[{job_id}]" for job_id, tests in scenarios.items() for test in tests]
    run = drill.pytest([*nodes, "-q", "--tb=short", "-rfE", f"--inventory={inventory}"], 900)
    return run.returncode, run.stdout + run.stderr


@pytest.mark.touches("batou")
def test_the_credentials_of_a_job_of_its_own_a_unit_a_passcommand_and_a_password_file(drill):
    """batou-backup (restic) with an env file of its own and its password from its unit's systemd
    credential (a LoadCredentialEncrypted= drop-in of flux-backup.service, read from
    $CREDENTIALS_DIRECTORY), batou-borg (borg) with a password_command that decrypts a systemd
    credential (systemd-creds): the repository scenarios pass with them (probe, snapshots,
    check, restore). Then batou-backup with a password_file: it passes, and a wrong one that
    others can read is named (host, job, path) as refused credentials, and as a finding. Last,
    batou-backup with RESTIC_PASSWORD_FILE in its own env file and batou-borg with a
    password_file: their checks pass, and with wrong secrets could not run, named by host, job
    and source, never by value."""
    batou = LabHost("batou")
    had_key = batou.sh(f"test -e {HOST_KEY} && echo yes || true").strip() == "yes"
    batou.sh(f"set -a; . {ENV_FILE}; set +a; umask 077; "
             f"printf %s \"$RESTIC_PASSWORD\" > {PASSWORD_FILE}; "
             f"grep -v '^RESTIC_PASSWORD=' {ENV_FILE} > {JOB_ENV}; "
             f"printf %s \"$BORG_PASSPHRASE\" | systemd-creds encrypt --with-key=host "
             f"--name=batou-borg.pw - {CREDSTORE}/batou-borg.pw; "
             f"printf %s \"$RESTIC_PASSWORD\" | systemd-creds encrypt --with-key=host "
             f"--name=restic.pw - {CREDSTORE}/restic.pw; "
             f"mkdir -p {os.path.dirname(DROP_IN)}; "
             f"printf '[Service]\\nLoadCredentialEncrypted=restic.pw\\n' > {DROP_IN}; "
             "systemctl daemon-reload")
    own = {"batou-backup": {"credentials_env": JOB_ENV, "credentials_unit": "flux-backup.service",
                            "password_credential": "restic.pw"},
           "batou-borg": {"password_command": ["systemd-creds", "decrypt", "--name=batou-borg.pw",
                                               f"{CREDSTORE}/batou-borg.pw", "-"]}}
    by_file = {"batou-backup": {"credentials_env": JOB_ENV, "password_file": PASSWORD_FILE}}
    checked = {"batou-backup@batou": ("test_restic_check_passes", PRIVATE)}
    try:
        status, output = drill_scenarios(drill, own, SWITCHED)
        assert status == 0, output[-6000:]
        assert "7 passed" in output, output[-6000:]
        status, output = drill_scenarios(drill, by_file, checked)
        assert status == 0, output[-6000:]
        assert "2 passed" in output, output[-6000:]
        batou.sh(f"printf %s not-the-password > {PASSWORD_FILE}; chmod 0644 {PASSWORD_FILE}")
        status, output = drill_scenarios(drill, by_file, checked)
        assert "2 failed" in output, output[-6000:]  # could not run, and a finding
        assert status == 1, output[-6000:]
        for named in ("host batou", "refused the credentials (wrong password or no key found) "
                      f"(with job batou-backup's credentials_env {JOB_ENV} and password_file "
                      f"{PASSWORD_FILE})",
                      f"host batou, job batou-backup: credentials file {JOB_ENV} is mode 0600, owned by "
                      f"root; password file {PASSWORD_FILE} is mode 0644 lets group or others in"):
            assert named in output, f"{named!r} is not named:\n{output[-6000:]}"
        # RESTIC_PASSWORD_FILE inside the job's env file (restic reads the file itself), and
        # borg's password_file: right, both checks pass; wrong, both could not run, named by
        # host, job and where the secret comes from, never by its value
        batou.sh(f"set -a; . {ENV_FILE}; set +a; umask 077; "
                 f"printf %s \"$RESTIC_PASSWORD\" > {PASSWORD_FILE}; chmod 0600 {PASSWORD_FILE}; "
                 f"printf %s \"$BORG_PASSPHRASE\" > {BORG_PASSWORD_FILE}; "
                 f"{{ grep -v '^RESTIC_PASSWORD=' {ENV_FILE}; echo RESTIC_PASSWORD_FILE={PASSWORD_FILE}; }} "
                 f"> {JOB_ENV}")
        forms = {"batou-backup": {"credentials_env": JOB_ENV},
                 "batou-borg": {"password_file": BORG_PASSWORD_FILE}}
        checks = {"batou-backup@batou": ("test_restic_check_passes",),
                  "batou-borg@batou": ("test_borg_check_passes",)}
        status, output = drill_scenarios(drill, forms, checks)
        assert status == 0, output[-6000:]
        assert "2 passed" in output, output[-6000:]
        batou.sh(f"printf %s not-the-password > {PASSWORD_FILE}; printf %s not-the-passphrase > "
                 f"{BORG_PASSWORD_FILE}")
        status, output = drill_scenarios(drill, forms, checks)
        assert "2 failed" in output, output[-6000:]
        assert "not-the-pass" not in output, output[-6000:]
        for named in ("host batou", "COULD NOT RUN",
                      "refused the credentials (wrong password or no key found) "
                      f"(with job batou-backup's credentials_env {JOB_ENV})",
                      "refused the credentials (wrong BORG_PASSPHRASE)",
                      f"job batou-borg's password_file {BORG_PASSWORD_FILE}"):
            assert named in output, f"{named!r} is not named:\n{output[-6000:]}"
    finally:
        batou.sh(f"rm -f {JOB_ENV} {PASSWORD_FILE} {BORG_PASSWORD_FILE} {CREDSTORE}/batou-borg.pw "
                 f"{CREDSTORE}/restic.pw "
                 f"{DROP_IN}; rmdir {os.path.dirname(DROP_IN)}; systemctl daemon-reload"
                 + ("" if had_key else f"; rm -f {HOST_KEY}"))
    for job_id, tests in SWITCHED.items():
        drill.healed(tests[0], job_id)


@pytest.mark.alone  # every host's jobs use the store
def test_a_store_that_stops_answering_fails_naming_each_endpoint(drill, lab):
    store = docker.from_env().containers.get(PREFIX + "objectstore")
    drill.run(ENDPOINTS, "space-mirror@akira").expect_pass()
    store.pause()
    try:
        # the endpoints are what is judged here; the up-front probe of the mirror's backend
        # meets the same hung store, and a short limit keeps its wait short (its own bound is
        # test_bounds.py's)
        drill.run(ENDPOINTS, "space-mirror@akira", options=("--probe-timeout=5",)).expect_failure(
            "host akira, job space-mirror",
            "S3 API without credentials (http://objectstore:8333/) answered 000, expected 403",
            "object store web UI (http://objectstore:9333/) answered 000, expected 200",
        )
    finally:
        store.unpause()
    drill.healed(ENDPOINTS, "space-mirror@akira")
