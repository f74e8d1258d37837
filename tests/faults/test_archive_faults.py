"""archives.feature and the textfile metrics bite on miraclemax, the lab's tarball host: an
archive gone stale, flipped or undecryptable, n8n stored in clear, a tier missing the newest
set or keeping too long, a truncated archive, a gap or an overstay in the window, metrics gone or
failed, Actual Budget's separate script stopped. Each failure names host, job and the set or path;
then the lab is healed."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.conftest import LabHost

pytestmark = [pytest.mark.lab, pytest.mark.touches("miraclemax")]

JOB = "miraclemax-backup@miraclemax"
WHO = "host miraclemax, job miraclemax-backup"
ROOT, TIER = "/home/jbyrd/backups/miraclemax", "/srv/nfs/miraclemax"
SETTINGS = "/etc/miraclemax/backup.env"
FRESH = "test_the_newest_archive_of_every_component_is_younger_than_the_rpo"
RESTORE = "test_the_newest_archive_of_every_component_decrypts_with_the_recovery_key_and_matches_its_source"
CLEAR = "test_components_that_must_be_encrypted_are_never_stored_in_clear"
TIERS = "test_every_tier_holds_the_newest_backup_set"
ANOMALY = "test_the_newest_archives_are_not_anomalously_small"
WINDOW = "test_the_backup_sets_are_kept_as_long_as_promised_and_no_longer"
DURATION = "test_the_jobs_last_backup_took_no_longer_than_its_duration_alert_allows"
METRICS = "test_the_jobs_metrics_report_a_successful_backup_younger_than_its_rpo"
STASH = "/root/fault-stash"


@pytest.fixture
def miraclemax(lab) -> LabHost:
    return LabHost("miraclemax")


def sets(host: LabHost, root: str = ROOT) -> list[str]:
    return sorted(n for n in host.sh(f"ls {root}").split() if n[:1].isdigit())


def stash(host: LabHost, path: str) -> None:
    """Move a file or set aside (outside every root), to put back with ``unstash``."""
    host.sh(f"mkdir -p {STASH} && mv {path} {STASH}/$(echo {path} | tr / _)")


def unstash(host: LabHost, path: str) -> None:
    host.sh(f"mv {STASH}/$(echo {path} | tr / _) {path}")


def run_backup(host: LabHost) -> None:
    host.sh("systemctl start pai-miraclemax-backup.service || true", timeout=300)


def test_a_component_whose_archives_stopped_fails_naming_it(drill, miraclemax):
    drill.run(FRESH, JOB).expect_pass()
    # every n8n archive of today and yesterday (other tests and the timer add sets each day)
    days = {f"{datetime.now(UTC) - timedelta(days=d):%Y%m%d}" for d in (0, 1)}
    recent = [f"{ROOT}/{name}/n8n.tar.gz.gpg" for name in sets(miraclemax) if name[:8] in days]
    for path in recent:
        stash(miraclemax, path)
    try:
        drill.run(FRESH, JOB).expect_failure(WHO, "n8n: ", "(older than the RPO)", "RPO 1d")
    finally:
        for path in recent:
            unstash(miraclemax, path)
    drill.healed(FRESH, JOB)


@pytest.mark.parametrize(
    ("fault", "named"),
    [("flip", ["n8n.tar.gz.gpg did not decrypt and unpack"]),
     ("no-key", [".tar.gz.gpg did not decrypt and unpack", "No secret key"])],
    ids=["flipped-byte", "recovery-key-missing"],
)
def test_an_archive_that_does_not_come_back_fails_naming_it(drill, miraclemax, fault, named):
    newest = f"{ROOT}/{sets(miraclemax)[-1]}/n8n.tar.gz.gpg"
    inventory = None
    with miraclemax.keep(newest):
        if fault == "flip":  # one byte in the middle of the encrypted data
            miraclemax.sh(f"size=$(stat -c %s {newest}); printf '\\377' | dd of={newest} bs=1 "
                          f"seek=$((size / 2)) conv=notrunc status=none")
        else:
            miraclemax.sh("mkdir -p -m 0700 /root/empty-gnupg")
            inventory = drill.inventory_with(job="miraclemax-backup", archives={
                **drill.job_doc("miraclemax-backup")["archives"], "gnupghome": "/root/empty-gnupg"})
        drill.run(RESTORE, JOB, inventory).expect_failure(WHO, *named)
    drill.healed(RESTORE, JOB)


def test_a_changed_source_file_is_named_by_the_restore(drill, miraclemax):
    """A file silently changed in a component's source (its mtime kept) differs from the
    archive: named, with its path."""
    path = miraclemax.sh("find /home/jbyrd/grafana-dashboards -name 'file-*.dat' -size +100c "
                         "| sort | head -n 1").strip()
    with miraclemax.keep(path):
        miraclemax.sh(f"touch -r {path} /root/mtime && printf 'x' | dd of={path} bs=1 conv=notrunc "
                      f"status=none && touch -r /root/mtime {path}")
        drill.run(RESTORE, JOB).expect_failure(WHO, "grafana:", path, "differs from the source")
    drill.healed(RESTORE, JOB)


def test_n8n_stored_in_clear_fails_naming_every_copy(drill, miraclemax):
    before = set(sets(miraclemax))
    with miraclemax.keep(SETTINGS):
        miraclemax.sh(f"mkdir -p /etc/miraclemax && echo ENCRYPT=homeassistant > {SETTINGS}")
        run_backup(miraclemax)
        made = sorted(set(sets(miraclemax)) - before)
        assert made, "the backup made no set"
        try:
            drill.run(CLEAR, JOB).expect_failure(
                WHO, "(encryption required)", f"{ROOT}/{made[0]}/n8n.tar.gz: stored in clear",
                f"{TIER}/{made[0]}/n8n.tar.gz: stored in clear")
        finally:
            for name in made:
                miraclemax.sh(f"rm -rf {ROOT}/{name} {TIER}/{name}")
    run_backup(miraclemax)
    drill.healed(CLEAR, JOB)


def test_a_tier_without_the_newest_set_or_keeping_too_long_fails(drill, miraclemax):
    newest = sets(miraclemax)[-1]
    old = (datetime.now(UTC) - timedelta(days=100)).strftime("%Y%m%d_030000")
    stash(miraclemax, f"{TIER}/{newest}")
    miraclemax.sh(f"cp -a {ROOT}/{sets(miraclemax)[0]} {TIER}/{old}")
    try:
        drill.run(TIERS, JOB).expect_failure(
            WHO, f"{TIER}: no copy of the newest set {newest}",
            f"backup set {TIER}/{old}", "outside the 90-day window")
    finally:
        miraclemax.sh(f"rm -rf {TIER}/{old}")
        unstash(miraclemax, f"{TIER}/{newest}")
    drill.healed(TIERS, JOB)


def test_a_truncated_archive_is_an_anomaly(drill, miraclemax):
    newest = f"{ROOT}/{sets(miraclemax)[-1]}/grafana.tar.gz"
    with miraclemax.keep(newest):
        miraclemax.sh(f"truncate -s 100 {newest}")
        drill.run(ANOMALY, JOB).expect_failure(WHO, "grafana: ", "is 100 bytes, below 0.5 x the median")
    drill.healed(ANOMALY, JOB)


def test_a_gap_or_an_overstay_in_the_window_fails_naming_the_day_and_the_set(drill, miraclemax):
    day = f"{datetime.now(UTC) - timedelta(days=3):%Y%m%d}"
    gone = [name for name in sets(miraclemax) if name.startswith(day)]  # every set of that day
    ancient = (datetime.now(UTC) - timedelta(days=45)).strftime("%Y%m%d_030000")
    for name in gone:
        stash(miraclemax, f"{ROOT}/{name}")
    miraclemax.sh(f"cp -a {ROOT}/{sets(miraclemax)[0]} {ROOT}/{ancient}")
    try:
        drill.run(WINDOW, JOB).expect_failure(
            WHO, f"daily {day[:4]}-{day[4:6]}-{day[6:8]}: no backup set, though the window is 30 daily",
            f"backup set {ROOT}/{ancient}", "outside the 30-day window")
    finally:
        miraclemax.sh(f"rm -rf {ROOT}/{ancient}")
        for name in gone:
            unstash(miraclemax, f"{ROOT}/{name}")
    drill.healed(WINDOW, JOB)


def test_textfile_metrics_gone_or_failed_fail_naming_the_metric(drill, miraclemax):
    textfile = "/var/lib/prometheus/node-exporter/miraclemax_backup.prom"
    with miraclemax.keep(textfile):
        miraclemax.sh(f"rm -f {textfile}")
        drill.run(METRICS, JOB).expect_failure(WHO, f"miraclemax_backup_success at {textfile}",
                                               "is absent, expected 1")
    before = set(sets(miraclemax))
    with miraclemax.keep(SETTINGS):
        miraclemax.sh(f"mkdir -p /etc/miraclemax && echo GNUPGHOME=/root/no-keys > {SETTINGS}")
        run_backup(miraclemax)
        drill.run(METRICS, JOB).expect_failure(WHO, "is 0, expected 1")
    for name in set(sets(miraclemax)) - before:
        miraclemax.sh(f"rm -rf {ROOT}/{name} {TIER}/{name}")
    run_backup(miraclemax)
    drill.healed(METRICS, JOB)


def test_a_backup_longer_than_its_duration_alert_fails(drill, miraclemax):
    textfile = "/var/lib/prometheus/node-exporter/miraclemax_backup.prom"
    with miraclemax.keep(textfile):
        miraclemax.sh(f"sed -i 's/^miraclemax_backup_duration_seconds.*/"
                      f"miraclemax_backup_duration_seconds{{}} 5400/' {textfile}")
        run = drill.run(DURATION, JOB)
    run.expect_failure(WHO, f"miraclemax_backup_duration_seconds at {textfile} is 1h30m",
                       "maximum 1h")
    drill.healed(DURATION, JOB)


def test_actual_budgets_separate_script_stopped_fails_naming_it(drill, miraclemax):
    root, job = "/home/jbyrd/backups/actual-budget", "actual-budget@miraclemax"
    drill.run(FRESH, job).expect_pass()
    days = {f"{datetime.now(UTC) - timedelta(days=d):%Y%m%d}" for d in (0, 1)}
    recent = [f"{root}/{name}" for name in sets(miraclemax, root) if name[:8] in days]
    for path in recent:  # pai-actual-backup silent for two days: its newest sets are gone
        stash(miraclemax, path)
    try:
        drill.run(FRESH, job).expect_failure(
            "host miraclemax, job actual-budget", "actual-budget: ", "(older than the RPO)")
    finally:
        for path in recent:
            unstash(miraclemax, path)
    drill.healed(FRESH, job)
