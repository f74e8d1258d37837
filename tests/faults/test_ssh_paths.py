"""Reaching hosts the way real estates do: a host reachable only through a jump host is drilled
through it; a host that refuses the key is named unreachable, not drilled, and the run says the
drill could not run."""

import re
import subprocess
import time

import pytest
import yaml

from lab.state import LabState
from tests.faults.conftest import ROOT

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

FULL = "test_the_latest_snapshot_restores_byteidentical_within_the_rto"
FRESH = "test_the_jobs_status_marker_reports_a_success_younger_than_the_rpo"


def inventory_with_host(tmp_path, name, **host):
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["hosts"][name].update(host)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


def test_a_host_only_the_jump_host_can_reach_is_drilled_through_it(drill, tmp_path):
    lab = LabState.load_or_create()
    # "motoko" resolves only on the lab's network: the runner can reach it through akira alone;
    # both keys are checked against the lab's known_hosts (motoko's filed under its name too)
    config = tmp_path / "ssh_config"
    config.write_text(
        lab.ssh_config.read_text() + f"Host motoko-inner\n  HostName motoko\n  Port 22\n  User root\n"
        f"  IdentityFile {lab.private_key}\n  IdentitiesOnly yes\n  LogLevel ERROR\n  ConnectTimeout 5\n"
    )
    inventory = inventory_with_host(
        tmp_path, "motoko", transport="ssh://motoko-inner", ssh_config=str(config), jump_host="akira"
    )
    drill.run(FULL, "flux-backup@motoko", inventory).expect_pass()
    direct = inventory_with_host(tmp_path, "motoko", transport="ssh://motoko-inner", ssh_config=str(config))
    drill.run(FRESH, "flux-backup@motoko", direct, dns=False).expect_failure(
        "host motoko unreachable", exit_code=2
    )  # the same host without the jump: the name does not resolve on the runner (looked up
    # with a resolver on 127.0.0.1 alone: nothing leaves this machine)


@pytest.mark.alone  # drills every host
def test_a_host_whose_name_does_not_resolve_is_unreachable_and_the_rest_of_the_run_completes(
    drill, tmp_path
):
    inventory = inventory_with_host(tmp_path, "akira", transport="ssh://akira.drill-lab.invalid")
    started = time.monotonic()
    run = drill.run(FRESH, "", inventory, dns=False)  # every job with a marker, on every host
    assert run.exit_code == 2, run.output  # could not run, not "not compliant"
    assert "host akira unreachable" in run.output
    assert "Could not resolve hostname akira.drill-lab.invalid" in run.output
    assert "UNREACHABLE host akira" in run.output
    assert re.search(r"\b2 failed, [1-9]\d* passed\b", run.output), run.output  # akira's two jobs
    assert time.monotonic() - started < 60


@pytest.mark.touches("akira")
def test_a_host_that_refuses_the_key_is_unreachable_by_name_and_could_not_run(drill, tmp_path):
    inventory = inventory_with_host(tmp_path, "akira", transport="ssh://nobody@akira")
    started = time.monotonic()
    run = drill.run(FRESH, "space-mirror@akira", inventory)
    run.expect_failure("host akira unreachable", "Permission denied", exit_code=2)
    assert "UNREACHABLE host akira" in run.output
    assert time.monotonic() - started < 60


@pytest.mark.touches("akira")
def test_a_connection_an_earlier_run_left_open_does_not_hide_a_broken_identity(drill, tmp_path):
    """The first run leaves its SSH master open (ControlPersist); the next, with an identity the
    host does not accept, must not ride on it."""
    lab = LabState.load_or_create()
    drill.run(FRESH, "space-mirror@akira").expect_pass()
    wrong = tmp_path / "id_wrong"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    config = tmp_path / "ssh_config"
    config.write_text(lab.ssh_config.read_text().replace(f"IdentityFile {lab.private_key}",
                                                         f"IdentityFile {wrong}"))
    inventory = inventory_with_host(tmp_path, "akira", ssh_config=str(config))
    run = drill.run(FRESH, "space-mirror@akira", inventory)
    run.expect_failure("host akira unreachable", "Permission denied", exit_code=2)


CHECK = "test_restic_check_passes"


def host_key(container: str) -> str:
    """A lab host's public ed25519 host key, as the operator would copy it from the host."""
    return subprocess.run(["docker", "exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def test_a_pinned_host_key_is_trusted_and_another_key_is_refused_naming_the_host(drill, tmp_path):
    # a pinned key overrides the lab's known_hosts: only that key will do
    pinned = inventory_with_host(tmp_path, "motoko", ssh_host_key=host_key("drill-lab-motoko"),
                                 ssh_known_hosts=None)
    drill.run(CHECK, "flux-backup@motoko", pinned).expect_pass()
    impostor = inventory_with_host(tmp_path, "motoko", ssh_host_key=host_key("drill-lab-akira"),
                                   ssh_known_hosts=None)
    drill.run(CHECK, "flux-backup@motoko", impostor).expect_failure(
        "host motoko unreachable", "Host key verification failed", exit_code=2)


def test_a_known_hosts_file_decides_which_keys_are_trusted(drill, tmp_path):
    lab = LabState.load_or_create()
    port = re.search(r"Host motoko\n(?:  .*\n)*?  Port (\d+)", lab.ssh_config.read_text())
    assert port is not None, lab.ssh_config.read_text()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port.group(1)} {host_key('drill-lab-motoko')}\n")
    drill.run(CHECK, "flux-backup@motoko", inventory_with_host(
        tmp_path, "motoko", ssh_known_hosts=str(known))).expect_pass()
    known.write_text(f"[127.0.0.1]:{port.group(1)} {host_key('drill-lab-akira')}\n")
    drill.run(CHECK, "flux-backup@motoko", inventory_with_host(
        tmp_path, "motoko", ssh_known_hosts=str(known))).expect_failure(
        "host motoko unreachable", "Host key verification failed", exit_code=2)
