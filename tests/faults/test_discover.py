"""``backup-drills discover`` of every lab host, then ``inventory check``: the jobs found match
``inventory/lab.yml``'s, host by host, on kind (the tool), repository or destination, schedule
(by firing times: cron lines by cronsim, timers by the host's ``systemd-analyze``) and source.

Then the discovered inventory, rpo and rto filled and nothing else, drills motoko's jobs green
through ``backup-drills run`` with writes off: the samples discovery chose (a file and a folder
unchanged since the job's last run, kept by its excludes) restore, and ``restic find`` lists them.

Read-only: no fault, nothing to heal. It reads every host, so it runs ``alone`` (a fault of
another test mid-way would be read as the estate). Lab jobs that discovery does not write (not
restic, borg, borgmatic or rclone backups) are listed below, each with its reason: a job missing
from that list and not discovered fails the test, and so does one listed that discovery finds.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from backup_drills.adapters.systemd import calendar_firings
from backup_drills.cli import main
from backup_drills.core.calendars import compare_calendars, cron_times
from backup_drills.core.transport import Remote
from backup_drills.inventory.discover import PLACEHOLDER_RPO, PLACEHOLDER_RTO, discover_host
from backup_drills.inventory.kinds import KINDS
from backup_drills.inventory.schema import InventoryError, Job, load_inventory

pytestmark = [pytest.mark.lab, pytest.mark.alone]

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab.yml"
DATABASE = "a database dump by the estate's own script (pg_dump, BGSAVE): discovery reads restic, " \
           "borg, borgmatic and rclone jobs; the dump is one of the backup job's files"
NOT_DISCOVERED = {
    "nextcloud-db@akira": "a pg_dump by backup-job nextcloud-db into /space (no backup tool of its "
                          "own; the space-mirror job carries it off-site)",
    "restore-test@akira": "the estate's restore test: rclone copy from the mirror into a temporary "
                          "folder, a restore rather than a backup (noted as not understood)",
    "cartae-postgres@cartae": DATABASE,
    "cartae-redis@cartae": DATABASE,
    "togusa-postgres@togusa": DATABASE,
    "togusa-redis@togusa": DATABASE,
    "carbon-postgres@carbon": "pg_dump piped to rclone rcat/copyto by tier in a Python helper: its "
                              "rclone calls take their words from a list (*words), not understood",
    "carbon-clickhouse@carbon": "clickhouse-backup's layout built by the estate's script, uploaded by "
                                "the same rclone helper: not understood",
    "miraclemax-backup@miraclemax": "GPG-encrypted tarballs made by tar and gpg, no backup tool",
    "actual-budget@miraclemax": "GPG-encrypted tarballs made by tar and gpg, no backup tool",
    "saito-credential@saito": "borgmatic's second configuration (/etc/borgmatic.d/credential.yaml): "
                              "discovery writes one job per borgmatic unit, from its first configuration",
}


def _same_schedule(remote: Remote, lab: Job, found: Job) -> str | None:
    if lab.cron is not None:
        if found.cron is None:
            return f"lab: cron {lab.cron.schedule}; found: {found.schedule}"
        if cron_times(lab.cron.schedule) != cron_times(found.cron.schedule) \
                or lab.cron.file != found.cron.file:
            return f"cron: lab {lab.cron.file} {lab.cron.schedule!r}, found {found.cron.file} " \
                   f"{found.cron.schedule!r}"
        return None
    if lab.schedule is None or found.schedule is None:
        return f"schedule: lab {lab.schedule}, found {found.schedule}"
    if (lab.schedule.timer, lab.schedule.service) != (found.schedule.timer, found.schedule.service):
        return f"units: lab {lab.schedule.timer}/{lab.schedule.service}, found {found.schedule.timer}/" \
               f"{found.schedule.service}"
    fired = compare_calendars(calendar_firings(remote, list(found.schedule.calendars), 50),
                              calendar_firings(remote, list(lab.schedule.calendars), 50))
    return None if fired.same else f"OnCalendar: lab {lab.schedule.calendars}, found " \
                                   f"{found.schedule.calendars} (first differ at {fired.first_difference})"


def _read_from_host(remote: Remote, job: Job, twin: Job) -> list[str]:
    """A kind that reads its repository, source and schedule from the host at each drill
    (borgmatic): discovery writes none of them; what it read of the host (its comments) must be
    what the kind's own reading (``borgmatic config validate --show``, the stock timer) gives."""
    from importlib import import_module

    (found,) = [f for f in discover_host(remote).jobs if f.name == twin.name]
    module = import_module(KINDS[job.kind].tool.split(":")[0])
    job = module.read_job(remote, job)  # the job as read from the host, as a drill reads it
    problems = []
    for key in ("repository", "source"):
        if found.from_host.get(key) != getattr(job, key):
            problems.append(f"{job.id}: {key}: {job.kind} reads {getattr(job, key)}, discovery read "
                            f"{found.from_host.get(key)}")
    calendars = found.from_host.get("schedule", {}).get("on_calendar")
    if job.schedule is None or calendars is None:
        problems.append(f"{job.id}: schedule: {job.kind} reads {job.schedule}, discovery read {calendars}")
    else:
        lines = [calendars] if isinstance(calendars, str) else list(calendars)
        fired = compare_calendars(calendar_firings(remote, lines, 50),
                                  calendar_firings(remote, list(job.schedule.calendars), 50))
        if not fired.same:
            problems.append(f"{job.id}: OnCalendar: {job.kind} reads {job.schedule.calendars}, "
                            f"discovery read {lines}")
    return problems


def test_discovery_of_every_lab_host_matches_the_lab_inventory(lab, tmp_path, capsys):
    estate = load_inventory(LAB)
    out = tmp_path / "discovered.yml"
    assert main(["discover", *estate.hosts, "--inventory", str(LAB), "--out", str(out)]) == 0
    text = out.read_text()
    with pytest.raises(InventoryError, match=r"rpo: expected a duration .* got 'FILL IN"):
        load_inventory(out)  # the placeholders are refused until a person fills them
    filled = tmp_path / "filled.yml"
    filled.write_text(text.replace(PLACEHOLDER_RPO, "26h").replace(PLACEHOLDER_RTO, "4h"))
    assert main(["inventory", "check", str(filled)]) == 0
    found = load_inventory(filled)

    problems: list[str] = []
    for host in estate.hosts:
        remote = Remote(estate.hosts[host], timeout=30)
        discovered = [job for job in found.jobs.values() if job.host == host]
        for job in (j for j in estate.jobs.values() if j.host == host):
            matching = [d for d in discovered if d.kind == job.kind and d.repository == job.repository
                        and d.destination == job.destination]
            if job.id in NOT_DISCOVERED:
                if matching:
                    problems.append(f"{job.id}: listed as not discovered, but found as {matching[0].name}")
                continue
            if len(matching) != 1:
                problems.append(f"{job.id}: {len(matching)} discovered job(s) of kind {job.kind}, repository "
                                f"{job.repository}, destination {job.destination} (found on {host}: "
                                f"{[(d.name, d.kind, d.repository or d.destination) for d in discovered]})")
                continue
            twin = matching[0]
            discovered.remove(twin)
            if KINDS[job.kind].from_host:  # borgmatic: what discovery read, against the tool's own reading
                problems += _read_from_host(remote, job, twin)
                continue
            if twin.source != job.source:
                problems.append(f"{job.id}: source: lab {job.source}, found {twin.source} ({twin.name})")
            differs = _same_schedule(remote, job, twin)
            if differs:
                problems.append(f"{job.id}: {differs} ({twin.name})")
        problems += [f"{d.name}@{host}: discovered, but inventory/lab.yml declares no such job ({d.kind}, "
                     f"{d.repository or d.destination})" for d in discovered]
    stale = sorted(set(NOT_DISCOVERED) - {job.id for job in estate.jobs.values()})
    assert not stale, f"NOT_DISCOVERED lists jobs inventory/lab.yml no longer has: {stale}"
    assert not problems, "\n".join(problems)
    # samples chosen by discovery: the drill of motoko's jobs, as written, green (writes off)
    samples = {job.id: job.samples for job in found.jobs.values() if job.host == "motoko"
               and job.kind == "restic"}
    assert samples, "no restic job discovered on motoko"
    assert all(samples.values()), f"motoko's restic job(s) without samples: {samples}"
    run = subprocess.run([str(Path(sys.executable).parent / "backup-drills"), "run", "--inventory",
                          str(filled), "-k", "motoko", "-p", "no:cacheprovider", "-q", "-rA"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"samples {samples}:\n{run.stdout[-4000:]}{run.stderr[-2000:]}"
    passed = {line.split("::")[-1] for line in run.stdout.splitlines() if line.startswith("PASSED ")}
    for scenario in ("a_single_file_restores_exactly", "the_oldest_kept_snapshot_restores_by_its_id",
                     "the_latest_snapshot_lists_the_jobs_sample_file"):
        assert any(scenario in test and "@motoko" in test for test in passed), \
            f"{scenario} did not pass for motoko:\n{run.stdout[-3000:]}"
    with capsys.disabled():
        print(f"\nmotoko drilled green with the discovered samples {samples}: {run.stdout.splitlines()[-1]}")
        print(f"\n{len(found.jobs)} job(s) discovered and matched; not discovered, by design:\n" +
              "\n".join(f"  {job}: {why}" for job, why in NOT_DISCOVERED.items()))
