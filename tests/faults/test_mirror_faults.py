"""mirror.feature bites: an altered and a deleted object in the mirror bucket are caught."""

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("akira")]

FILE = "test_one_file_restores_from_the_mirror_byteidentical"
DIRECTORY = "test_one_directory_restores_from_the_mirror_byteidentical"
CHECK = "test_rclone_check_oneway_finds_no_differences"
FULL = "test_the_whole_mirror_restores_to_an_alternate_root_byteidentical_within_the_rto"
BUCKET = "space-mirror"
SAMPLE = "mike/documents/Quarterly report (final).txt"


def heal(akira) -> None:
    akira.sh("systemctl start space-mirror.service", timeout=600)


def test_an_altered_object_fails_the_single_file_restore(drill, akira, bucket):
    bucket.put_object(Bucket=BUCKET, Key=SAMPLE, Body=b"tampered with in the bucket\n")
    try:
        run = drill.run(FILE, "space-mirror@akira")
    finally:
        heal(akira)
    run.expect_failure("host akira, job space-mirror", f"/space/{SAMPLE}")
    drill.healed(FILE, "space-mirror@akira")


def test_a_deleted_object_fails_the_directory_restore(drill, akira, bucket):
    listing = bucket.list_objects_v2(Bucket=BUCKET, Prefix="mike/photos/2024/")
    key = sorted(obj["Key"] for obj in listing["Contents"])[0]
    bucket.delete_object(Bucket=BUCKET, Key=key)
    try:
        run = drill.run(DIRECTORY, "space-mirror@akira")
    finally:
        heal(akira)
    run.expect_failure("host akira, job space-mirror", "1 missing from the restore", f"/space/{key}")
    drill.healed(DIRECTORY, "space-mirror@akira")


def test_a_deleted_object_fails_rclone_check(drill, akira, bucket):
    listing = bucket.list_objects_v2(Bucket=BUCKET, Prefix="datasets/sensors/")
    key = sorted(obj["Key"] for obj in listing["Contents"])[-1]
    bucket.delete_object(Bucket=BUCKET, Key=key)
    try:
        run = drill.run(CHECK, "space-mirror@akira")
    finally:
        heal(akira)
    run.expect_failure(
        "host akira, job space-mirror: `rclone check --one-way /space b2mirror:space-mirror",
        f"missing from the mirror: /space/{key}",
    )
    drill.healed(CHECK, "space-mirror@akira")


def test_an_altered_object_fails_the_full_mirror_restore(drill, akira, bucket):
    listing = bucket.list_objects_v2(Bucket=BUCKET, Prefix="projects/")
    key = sorted(obj["Key"] for obj in listing["Contents"])[0]
    bucket.put_object(Bucket=BUCKET, Key=key, Body=b"tampered with in the bucket\n")
    try:
        run = drill.run(FULL, "space-mirror@akira")
    finally:
        heal(akira)
    run.expect_failure("host akira, job space-mirror", "1 differs from the source", f"/space/{key}")
    drill.healed(FULL, "space-mirror@akira")
