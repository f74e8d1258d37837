from backup_drills.evidence.prometheus import render, write_textfile


def test_textfile_has_one_series_per_job_and_escapes_labels(tmp_path):
    text = render(
        {"flux@motoko": True, 'we"ird@h': False},
        {
            "flux@motoko": {
                "restore_seconds": 2.5,
                "snapshot_age_seconds": 60,
                "rpo_seconds": 93600.0,
                "what": ".",
            }
        },
        now=1700000000,
    )
    assert 'backup_drill_verified{job="flux",host="motoko"} 1' in text
    assert 'backup_drill_verified{job="we\\"ird",host="h"} 0' in text
    assert 'backup_drill_restore_seconds{job="flux",host="motoko"} 2.5' in text
    assert 'backup_drill_snapshot_age_seconds{job="flux",host="motoko"} 60' in text
    assert "backup_drill_last_run_timestamp_seconds 1700000000" in text
    path = tmp_path / "collector" / "backup_drills.prom"
    write_textfile(path, text)
    assert path.read_text() == text
    assert [p.name for p in path.parent.iterdir()] == ["backup_drills.prom"]
