from backup_drills.adapters.cron import parse_crontab
from backup_drills.adapters.metrics import parse
from backup_drills.core.calendars import cron_times

SYSTEM = """# m h dom mon dow user command
SHELL=/bin/sh
MAILTO = ops@example.net

0 2 * * * root /usr/local/sbin/cartae-backup >> /var/log/cartae-backup.log 2>&1
0  3 * * 0 backup /usr/local/bin/check --read-data-subset=10%
@monthly root /usr/local/bin/prune
"""


def test_system_crontab_entries_carry_line_user_and_command():
    entries = parse_crontab("/etc/cron.d/cartae", SYSTEM)
    assert [(e.line, e.schedule, e.user) for e in entries] == [
        (5, "0 2 * * *", "root"), (6, "0 3 * * 0", "backup"), (7, "@monthly", "root")]
    assert entries[0].command == "/usr/local/sbin/cartae-backup >> /var/log/cartae-backup.log 2>&1"


def test_a_users_own_crontab_has_no_user_field():
    (entry,) = parse_crontab("/var/spool/cron/crontabs/backup", "30 1 * * * /home/backup/run.sh\n")
    assert (entry.user, entry.command) == ("backup", "/home/backup/run.sh")


def test_nicknames_and_spacing_fire_alike():
    assert cron_times("@daily") == cron_times("0  0 * * *") == cron_times("0 0 * * *")
    assert cron_times("@weekly") == cron_times("0 0 * * 0")
    assert cron_times("0 2 * * *") != cron_times("0 3 * * *")


def test_metrics_are_chosen_by_label():
    text = ('# TYPE backup_success gauge\nbackup_success{job="a",instance="x"} 1\n'
            'backup_success{job="b",instance="x"} 0\n')
    assert parse(text, {"job": "b"}) == {"backup_success": 0.0}
    assert parse(text, {"job": "c"}) == {}
