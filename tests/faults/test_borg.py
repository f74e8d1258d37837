"""borg.feature bites on motoko's local borg repository: a flipped byte in a segment and a
deleted segment (NOT COMPLIANT, named by borg's own line, never COULD NOT RUN), archives
that stopped, an archive the prune rules do not keep, a file whose content
differs from its archive, a file of the restore rotation's slice changed in the source and a
slice overdue. Each failure names host, job and the archive or path; then the
repository is put back exactly as it was (a copy taken before the fault)."""

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.conftest import LabHost

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

JOB, WHO = "flux-borg@motoko", "host motoko, job flux-borg"
REPO, SAVED = "/srv/borg/flux", "/root/fault-saved-borg"
CHECK = "test_borg_check_passes"
FRESH = "test_the_newest_borg_archive_is_younger_than_the_rpo"
KEPT = "test_the_borg_archives_are_kept_as_borg_prunes_rules_promise"
RESTORE = "test_the_newest_borg_archive_restores_byteidentical_within_the_rto"
BORG = "set -a; . /etc/miket/storage-credentials.env; set +a; export BORG_REPO=/srv/borg/flux; "


@contextmanager
def repository_kept(host: LabHost, repository: str = REPO) -> Iterator[None]:
    """The repository as it is now, put back whatever the test did to it, with borg's security
    directory and cache: put back alone, it would be an older manifest than borg has seen, which
    borg refuses as a rollback attack."""
    saves = [(path, f"{SAVED}{path}") for path in (repository, "/root/.config/borg", "/root/.cache/borg")]
    host.sh(f"rm -rf {SAVED} && " + " && ".join(f"mkdir -p $(dirname {copy}) && cp -a {path} {copy}"
                                                 for path, copy in saves))
    try:
        yield
    finally:
        host.sh(" && ".join(f"rm -rf {path} && mv {copy} {path}" for path, copy in saves)
                + f" && rm -rf {SAVED}")


def archives(motoko: LabHost) -> list[str]:
    return motoko.sh(f"{BORG}borg list --bypass-lock --short").split()


def test_a_flipped_byte_in_a_segment_fails_borg_check_naming_the_repository(drill, motoko):
    drill.run(CHECK, JOB).expect_pass()
    with repository_kept(motoko):
        # the largest segment holds file data (the manifest, rewritten by each archive, sits in
        # the newest): one byte flipped in its middle, as a failing disk would
        largest = motoko.sh(f"ls -S {REPO}/data/*/* | head -1").strip()
        motoko.sh(f"size=$(stat -c %s {largest}); printf 'X' | dd of={largest} bs=1 "
                  f"seek=$((size / 2)) conv=notrunc status=none")
        run = drill.run(CHECK, JOB)
        # NOT COMPLIANT, named by borg's own line, not by the per-object lines that follow it
        run.expect_failure(WHO, f"borg check of {REPO} failed", "Segment entry checksum mismatch [segment ")
        assert not [line for line in run.output.splitlines() if any(
            noise in line for noise in BORG_NOISE)], run.output
    drill.healed(CHECK, JOB)


BORG_NOISE = ("SSH_ORIGINAL_COMMAND", "Platform:", "sys.argv", "Traceback", "rebuilt index: <not found>")


def test_a_deleted_segment_is_not_compliant_named_by_borg_not_could_not_run(drill, motoko):
    with repository_kept(motoko):
        # the largest segment: file data every archive shares. borg list still opens the
        # repository (the probe passes); the restore finds the damage
        largest = motoko.sh(f"ls -S {REPO}/data/*/* | head -1").strip()
        motoko.sh(f"rm {largest}")
        run = drill.run(RESTORE, JOB)
        run.expect_failure(WHO, "a segment file of the repository is missing",
                           f"No such file or directory: '{largest}'")
        assert "COULD NOT RUN" not in run.output, run.output
        assert not [line for line in run.output.splitlines() if any(
            noise in line for noise in BORG_NOISE)], run.output
    drill.healed(RESTORE, JOB)


def test_archives_that_stopped_fail_naming_the_newest_and_its_age(drill, motoko):
    drill.run(FRESH, JOB).expect_pass()
    with repository_kept(motoko):
        cutoff = f"motoko-{datetime.now(UTC) - timedelta(hours=30):%Y-%m-%dT%H:%M:%S}"
        recent = [name for name in archives(motoko) if name > cutoff]  # names carry their time
        assert recent, archives(motoko)
        newest_left = [name for name in archives(motoko) if name <= cutoff][-1]
        motoko.sh(BORG + " && ".join(f"borg delete ::{name}" for name in recent))
        drill.run(FRESH, JOB).expect_failure(WHO, f"newest archive {newest_left} of /flux/active", "RPO ")
    drill.healed(FRESH, JOB)


def test_an_archive_prune_would_not_keep_fails_naming_it(drill, motoko):
    drill.run(KEPT, JOB).expect_pass()
    with repository_kept(motoko):
        # a second, earlier archive on a recent day that has one: borg prune keeps the newest of
        # a day only (on the oldest day, its "keep the oldest" rule could keep it)
        day = [name for name in archives(motoko) if name.endswith("T04:00:00")][-1]
        stamp = day.removeprefix("motoko-").replace("T04:00:00", "T03:00:00")
        motoko.sh(f"{BORG}borg create --timestamp {stamp} ::motoko-extra-{stamp} /flux/active/project-beta")
        drill.run(KEPT, JOB).expect_failure(WHO, f"archive motoko-extra-{stamp}",
                                             "outlives the policy (7 daily, 4 weekly, 12 monthly)")
    drill.healed(KEPT, JOB)  # a missed night is no finding: test_retention_faults.py


def test_a_file_that_differs_from_its_archive_fails_the_restore_naming_it(drill, motoko):
    path = motoko.sh("find /flux/active/project-alpha/src -type f -size +0 | sort | head -1").strip()
    with motoko.keep(path):
        # new content, old mtime: only a byte-for-byte comparison can tell
        quoted = shlex.quote(path)
        motoko.sh(f"touch -r {quoted} /root/ref && printf 'tampered' >> {quoted} && "
                  f"touch -r /root/ref {quoted}")
        drill.run(RESTORE, JOB).expect_failure(WHO, path.removeprefix("/flux/active/"))
    drill.healed(RESTORE, JOB)


BATOU_JOB, BATOU_WHO = "batou-borg@batou", "host batou, job batou-borg"
# borg 1.4's own create decides what these leave out; the drill must expect just the rest
EXCLUDES = ["*.tmp", "sh:**/drill-scratch", "pp:/flux/active/drill-excluded"]
LEFT_OUT = {"project-alpha/drill-render.tmp/frame.bin": "", "project-alpha/drill-scratch/s.bin": "",
            "drill-excluded/old.bin": "", "project-beta/drill-cache/blob.bin": "",
            "project-beta/drill-cache/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55",
            "project-beta/drill-tagged/.nobackup": "", "project-beta/drill-tagged/blob.bin": ""}
KEPT_NOT = {"drill-excluded-not/kept.bin": "", "project-beta/drill-fake-cache/blob.bin": "",
            "project-beta/drill-fake-cache/CACHEDIR.TAG": "Signature: not borg's"}
PLANTED = ("project-alpha/drill-render.tmp", "project-alpha/drill-scratch", "drill-excluded",
           "project-beta/drill-cache", "project-beta/drill-tagged", "drill-excluded-not",
           "project-beta/drill-fake-cache")


def plant(host: LabHost, files: dict[str, str]) -> None:
    """Files of the source, two days old (older than any archive the test makes)."""
    host.sh(" && ".join(f"mkdir -p $(dirname {shlex.quote(p)}) && printf %s {shlex.quote(body)} > "
                        f"{shlex.quote(p)} && touch -d '2 days ago' {shlex.quote(p)}"
                        for p, body in ((f"/flux/active/{rel}", body) for rel, body in files.items())))


@pytest.mark.touches("batou")
def test_what_borgs_excludes_leave_out_is_not_missing_and_the_rest_still_is(drill):
    batou = LabHost("batou")
    stamp = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"
    archive = f"batou-excludes-{stamp}"
    inventory = drill.inventory_with("batou-borg", excludes=EXCLUDES, exclude_caches=True,
                                     exclude_if_present=[".nobackup"])
    try:
        plant(batou, LEFT_OUT)
        # an archive as an estate with these excludes makes it: borg's own create decides
        batou.sh(f"{BORG}borg create --lock-wait 60 "
                 + " ".join(f"--exclude {shlex.quote(e)}" for e in EXCLUDES)
                 + f" --exclude-caches --exclude-if-present .nobackup ::{archive} /flux/active")
        listed = batou.sh(f"{BORG}borg list --bypass-lock --short ::{archive}")
        assert not [rel for rel in LEFT_OUT if f"flux/active/{rel}" in listed.split("\n")], listed
        drill.run(RESTORE, BATOU_JOB, inventory=inventory).expect_pass()
        # not excluded, though they look it: a prefix that is not the path, a CACHEDIR.TAG
        # without borg's signature; older than the archive, so missing from its restore
        plant(batou, KEPT_NOT)
        run = drill.run(RESTORE, BATOU_JOB, inventory=inventory)
        run.expect_failure(BATOU_WHO, "3 missing from the restore", *KEPT_NOT)
        assert not [rel for rel in LEFT_OUT if rel in run.output], run.output
    finally:
        batou.sh(f"{BORG}borg delete --lock-wait 60 ::{archive} 2>/dev/null; cd /flux/active && rm -rf "
                 + " ".join(shlex.quote(p) for p in PLANTED))
    drill.healed(RESTORE, BATOU_JOB)


ROTATION = "test_the_slice_of_the_restore_rotation_due_now_extracts_byteidentical"
COVERAGE = "test_every_file_of_the_borg_archives_was_extracted_within_the_rotation"


def test_the_borg_rotation_finds_a_corrupted_file_of_its_slice_and_names_an_overdue_slice(drill, motoko):
    """flux-borg with a */4 restore rotation (a copy of the inventory: the lab's declares none).
    A file of this week's slice, silently changed in the source, fails the slice's extract
    naming it; put back, the slice passes; an evidence history in which two other slices last
    came back five and six weeks ago fails the coverage scenario, run alone, naming the first
    and when: the run's own extract (taken by the coverage scenario itself, as no slice
    scenario ran) proves the older one and no more."""
    from backup_drills.core.restore_rotation import due_slice, slice_of

    inventory = drill.inventory_with("flux-borg", restore_coverage="*/4",
                                     restore_budget={"bytes": "64 MiB", "files": 20000, "time": "10m"})
    due = due_slice([], 4, datetime.now(UTC).date())  # a fresh evidence folder: the week's slice
    found = motoko.sh("cd /flux/active && find project-alpha/src -type f -name '*.dat' | sort")
    victim = "/flux/active/" + next(p for p in found.split() if slice_of(p, 4) == due)
    with motoko.keep(victim):
        motoko.sh(f"m=$(stat -c %Y {victim}); printf X >> {victim}; touch -d @$m {victim}")
        run = drill.run(ROTATION, JOB, inventory)
    run.expect_failure(f"{WHO}: restore rotation slice {due}/4 of snapshot",
                       "1 differs from the source (unchanged since the backup)", victim)
    drill.run(ROTATION, JOB, inventory).expect_pass()  # healed: the source as borg keeps it

    now = datetime.now(UTC)
    stale, oldest, _ = (n for n in range(1, 5) if n != due)  # due: extracted identical just now
    for n in range(1, 5):
        weeks = {stale: 5, oldest: 6}.get(n, 1)
        run_dir = drill.tmp / "evidence" / f"2026010{n}T000000Z"
        run_dir.mkdir(parents=True)
        proof = {"slice": f"{n}/4", "proven_at": (now - timedelta(weeks=weeks)).isoformat(),
                 "passed": True, "files": 1, "bytes": 1}
        (run_dir / f"{JOB}.json").write_text(json.dumps({"measured": {"restore_rotation": proof}}))
    drill.run(COVERAGE, JOB, inventory).expect_failure(
        f"{WHO}: every file of /flux/active restored within the last 29d: slice(s) {stale}/4 of the "
        "rotation not restored since",
        f"slice {stale}/4: last restored identical {(now - timedelta(weeks=5)).date()}",
        f"slice {oldest}/4: last restored identical {now.date()}")  # this run's own
