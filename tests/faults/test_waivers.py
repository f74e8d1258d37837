"""Waivers against a real failure: an owned, unexpired waiver keeps the gate green and the report
says waived; an expired one waives nothing."""

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

FULL = "test_the_latest_snapshot_restores_byteidentical_within_the_rto"
WAIVER = """waivers:
  - job: flux-backup
    scenario: The latest snapshot restores byte-identical within the RTO
    justification: restore throughput tuning, OPS-77
    owner: alice@example.net
    expires: {expires}
"""


@pytest.mark.parametrize("expires", ["2999-01-01", "2020-01-01"])
def test_a_waiver_holds_until_it_expires(drill, tmp_path, expires):
    waivers = tmp_path / "waivers.yml"
    waivers.write_text(WAIVER.format(expires=expires))
    inventory = drill.inventory_with("flux-backup", rto="1s")
    run = drill.run_features(
        "-q", "-rx", f"--inventory={inventory}", f"--waivers={waivers}", "-k", f"{FULL} and flux-backup"
    )
    if expires == "2999-01-01":
        assert run.returncode == 0, run.stdout
        assert "1 xfailed" in run.stdout
        assert "WAIVED (waived by alice@example.net until 2999-01-01: restore throughput tuning" in run.stdout
    else:
        assert run.returncode == 1, run.stdout
        assert "NOT COMPLIANT: host motoko, job flux-backup: restore of /flux took" in run.stdout
        assert "(a waiver expired on 2020-01-01: restore throughput tuning, OPS-77" in run.stdout
