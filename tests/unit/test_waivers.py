from datetime import date

import pytest

from backup_drills.evidence.waivers import Waiver, WaiverError, load_waivers

TODAY = date(2026, 11, 22)


def waiver(**changes) -> Waiver:
    base = {"job": "flux-backup", "justification": "OPS-77", "owner": "alice", "expires": "2026-12-01"}
    return Waiver.model_validate(base | changes)


def test_a_waiver_matches_job_name_or_id_and_optionally_one_scenario():
    assert waiver().matches("flux-backup@motoko", "anything")
    assert waiver(job="flux-backup@motoko").matches("flux-backup@motoko", "x")
    assert not waiver(job="flux-backup@other").matches("flux-backup@motoko", "x")
    assert not waiver(scenario="restic check passes").matches("flux-backup@motoko", "x")
    assert waiver(job=None, scenario="x").matches("any@host", "x")


def test_expired_waivers_waive_nothing(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(
        "waivers:\n  - {job: a, justification: j, owner: o, expires: 2026-11-21}\n"
        "  - {job: b, justification: j, owner: o, expires: 2026-11-22}\n"
    )
    book = load_waivers(path)
    assert book.find("a@h", "s", today=TODAY) is None
    assert book.expired_for("a@h", "s", today=TODAY) is not None
    assert book.find("b@h", "s", today=TODAY) is not None  # valid through its expiry day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "waivers:\n  - {job: a, owner: o, expires: 2026-12-01}\n",
            "waivers[0]: justification: required key is missing",
        ),
        (
            "waivers:\n  - {justification: j, owner: o, expires: 2026-12-01}\n",
            "waivers[0]: entry: a waiver needs 'job', 'scenario' or both",
        ),
        (
            "waivers:\n  - {job: a, justification: j, owner: o, expires: soon}\n",
            "waivers[0]: expires: Input should be a valid date",
        ),
        (
            "waivers:\n  - {job: a, justification: j, owner: o, expires: 2026-12-01, ownr: x}\n",
            "waivers[0]: ownr: Extra inputs",
        ),
        ("- a list\n", "expected a list of waivers under the key 'waivers'"),
        ("waivers: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_waiver_files_name_file_entry_and_key(tmp_path, text, expected):
    path = tmp_path / "w.yml"
    path.write_text(text)
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)
