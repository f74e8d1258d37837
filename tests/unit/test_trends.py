import json

from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.trends import Point, load_history, plot

PNG = b"\x89PNG\r\n\x1a\n"


def write_run(directory, run_id, restore_seconds):
    log = EvidenceLog(run_id=run_id)
    log.record("flux@motoko", restore_seconds=restore_seconds, rto_seconds=900.0,
               snapshot_age_seconds=3600.0, rpo_seconds=93600.0)
    log.record("check@motoko", checked=True)  # measured neither restore nor age
    log.outcome("flux@motoko", "Full restore", "verified", [])
    return log.write(directory)


def test_history_reads_past_runs_oldest_first_and_skips_the_current_one(tmp_path):
    for run_id, seconds in [("20261120T000000Z", 3.0), ("20261121T000000Z", 4.0),
                            ("20261122T000000Z", 5.0)]:
        write_run(tmp_path, run_id, seconds)
    history = load_history(tmp_path, exclude_run="20261122T000000Z")
    assert list(history) == ["flux@motoko"]
    assert [(p.run_id, p.restore_seconds, p.age_hours) for p in history["flux@motoko"]] == [
        ("20261120T000000Z", 3.0, 1.0),
        ("20261121T000000Z", 4.0, 1.0),
    ]


def test_unreadable_evidence_is_left_out_of_the_history(tmp_path):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "flux@motoko.json").write_text("{not json")
    (tmp_path / "r1" / "other@motoko.json").write_text(json.dumps({"job": "other@motoko"}))
    assert load_history(tmp_path) == {}
    assert load_history(tmp_path / "missing") == {}


def test_a_plot_is_a_png_even_with_gaps_and_targets_far_above_the_data():
    points = [Point("20261120T000000Z", 3.0, None), Point("20261121T000000Z", None, 2.0),
              Point.of("20261122T000000Z", {"restore_seconds": 4, "marker_age_seconds": 60})]
    assert plot("flux@motoko", points, rto_seconds=14400, rpo_seconds=86400).startswith(PNG)
    assert plot("flux@motoko", points[:1]).startswith(PNG)


def test_every_run_writes_a_trend_png_and_an_html_summary_with_it_inlined(tmp_path):
    write_run(tmp_path, "20261121T000000Z", 3.0)
    log = EvidenceLog(run_id="20261122T000000Z", history=load_history(tmp_path))
    log.record("flux@motoko", restore_seconds=4.0, rto_seconds=900.0)
    log.outcome("flux@motoko", "Full <restore>", "not_compliant", ["ISO27001-A.8.13"])
    folder = log.write(tmp_path)
    assert (folder / "flux@motoko.trend.png").read_bytes().startswith(PNG)
    page = (folder / "summary.html").read_text()
    assert '<td class="verdict">not_compliant</td>' in page
    assert "<td class=\"restore\">4.0s (RTO 900s)</td>" in page
    assert 'alt="trend of flux@motoko" src="data:image/png;base64,iVBORw0KGgo' in page
    assert "<restore>" not in page  # scenario text is escaped wherever it shows


def test_a_run_that_measured_nothing_has_no_plot_and_says_so(tmp_path):
    log = EvidenceLog(run_id="r1")
    log.outcome("check@motoko", "restic check passes", "verified", [])
    folder = log.write(tmp_path)
    assert not list(folder.glob("*.png"))
    assert "No run measured a restore or an age." in (folder / "summary.html").read_text()
