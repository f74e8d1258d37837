"""What the loader refuses because it cannot mean it: each refusal names the file, the line and
column, the key, the value (secrets masked) and, for a typo, the nearest key."""

from pathlib import Path

import pytest

from backup_drills.cli import main
from backup_drills.inventory import credentials
from backup_drills.inventory.schema import Inventory, InventoryError, Job, load_inventory

BASE = """\
name: t
hosts:
  h1: {transport: "ssh://backup@h1.example.net"}
jobs:
  j1:
    host: h1
    kind: restic
    source: /data
    repository: s3:https://s3.example.net/bucket/j1
    rpo: 26h
    rto: 4h
"""


def refused(tmp_path: Path, text: str) -> str:
    """The loader's message for ``text``, each line checked to start with the file's name."""
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert all(line.startswith(f"{path}:") for line in message.splitlines()), message
    return message.replace(f"{path}:", "inv.yml:")


def test_the_base_inventory_loads(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(BASE)
    assert load_inventory(path).jobs["j1"].id == "j1@h1"


def test_a_duplicate_job_is_refused_where_the_second_is_written(tmp_path):
    text = BASE + "  j1:\n    host: h1\n    kind: restic-check\n    repository: /r\n    rpo: 26h\n"
    assert refused(tmp_path, text) == (
        "inv.yml:12:3: duplicate key 'j1' (first at line 5, column 3): YAML would keep only the "
        "last one and drop the first silently")


def test_a_duplicate_key_deep_in_a_job_is_refused(tmp_path):
    text = BASE.replace("    rto: 4h\n", "    rto: 4h\n    schedule: {timer: a.timer, service: a.service, "
                        "on_calendar: daily, timer: b.timer}\n")
    assert refused(tmp_path, text).startswith("inv.yml:12:72: duplicate key 'timer' (first at line 12, "
                                              "column 16)")


def test_a_second_top_level_section_is_refused_saying_so(tmp_path):
    text = BASE + "hosts:\n  h2: {transport: 'ssh://h2'}\n"
    assert refused(tmp_path, text).startswith(
        "inv.yml:12:1: a second 'hosts:' section (the first is at line 2): YAML would keep only "
        "this one and drop the first silently; merge them into one")


def test_merge_keys_may_still_override_what_they_bring(tmp_path):
    schedule = "    schedule: {timer: a.timer, service: a.service, on_calendar: daily}\n"
    text = BASE.replace("    rto: 4h\n", f"    rto: 4h\n{schedule}  j2:\n    <<: *j\n    rpo: 8h\n").replace(
        "  j1:\n", "  j1: &j\n")
    path = tmp_path / "inv.yml"
    path.write_text(text)
    inventory = load_inventory(path)
    assert inventory.jobs["j2"].rpo.total_seconds() == 8 * 3600
    assert inventory.jobs["j2"].schedule == inventory.jobs["j1"].schedule


@pytest.mark.parametrize("key", ['"j1\\nx"', '"j\\tx"', '"j\\u2028x"'])
def test_a_key_with_a_newline_or_control_character_is_refused(tmp_path, key):
    text = BASE.replace("  j1:\n", f"  {key}:\n")
    assert refused(tmp_path, text).startswith("inv.yml:5:3: a key may not hold a newline or any other "
                                              "control character, got 'j")


@pytest.mark.parametrize(("written", "why"), [
    ("0s", "expected a duration greater than zero such as 26h, 7d, 15m or 1h30m, got '0s'"),
    ("0", "expected a duration with its unit such as 26h, 7d, 15m or 1h30m, got 0: a number alone"),
    ("-3600", "expected a duration with its unit such as 26h, 7d, 15m or 1h30m, got -3600: a number"),
    ("26", "expected a duration with its unit such as 26h, 7d, 15m or 1h30m, got 26: a number alone"),
    ('"26"', "expected a duration such as 26h, 7d, 15m or 1h30m, got '26': a number alone says "
             "neither seconds nor hours"),
    ("26.0", "got 26.0: a number alone says neither seconds nor hours"),
    ("1:30", "got 90: a number alone"),  # YAML 1.1 reads 1:30 as 90
    ("-5m", "got '-5m': a duration is above zero"),
])
@pytest.mark.parametrize("key", ["rpo", "backup_timeout", "stale_lock_age"])
def test_durations_need_a_unit_and_a_value_above_zero(tmp_path, key, written, why):
    text = BASE.replace("    rpo: 26h\n", f"    rpo: 26h\n    {key}: {written}\n").replace(
        "    rpo: 26h\n", "", 1 if key == "rpo" else 0)
    line = 10 if key == "rpo" else 11
    message = refused(tmp_path, text)
    assert message.startswith(f"inv.yml:{line}:{7 + len(key)}: jobs.j1.{key}: "), message
    assert why in message


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    rpo: 26h\n", "    rpoo: 26h\n", "inv.yml:10:5: jobs.j1.rpoo: unknown key (did you mean 'rpo'?)"),
    ("{transport:", "{transprot:",
     "inv.yml:3:8: hosts.h1.transprot: unknown key (did you mean 'transport'?)"),
    ("hosts:", "hots:", "inv.yml:2:1: hots: unknown key (did you mean 'hosts'?)"),
    ("kind: restic", "kind: resitc", "inv.yml:7:11: jobs.j1.kind: expected a job kind among borg, borgmatic, "
     "clickhouse-backup, gpg-tar, pg-dump, rclone-mirror, redis-rdb, restic, restic-check, restore-test, "
     "got 'resitc' (did you mean 'restic'?)"),
    ("host: h1", "host: h11", "inv.yml:6:11: jobs.j1.host: expected a host of the inventory, one of "
     "['h1'], got 'h11' (did you mean 'h1'?)"),
    ("    rto: 4h\n", "    rto: 4h\n    samples: {file: a, directroy: b}\n",
     "inv.yml:12:24: jobs.j1.samples.directroy: unknown key (did you mean 'directory'?)"),
    ("    rto: 4h\n", "    rto: 4h\n    xyzzy: 1\n", "inv.yml:12:5: jobs.j1.xyzzy: unknown key (a typo?)"),
])
def test_a_typo_is_answered_with_the_nearest_key(tmp_path, old, new, expected):
    assert expected in refused(tmp_path, BASE.replace(old, new)).splitlines()


@pytest.mark.parametrize("key", ["-h1", ".h1", "h/1", "h 1", "h1@x", "h1;x", "ü1"])
def test_host_keys_are_names_of_letters_digits_dot_dash_underscore(tmp_path, key):
    text = BASE.replace("  h1: {", f"  '{key}': {{").replace("host: h1", f"host: '{key}'")
    message = refused(tmp_path, text)
    assert f"inv.yml:3:3: hosts.{key}: expected a name of letters, digits, '.', '_' and '-', not " \
           f"starting with '.' or '-', got {key!r}" in message.splitlines()


@pytest.mark.parametrize("key", ["-j1", "j/1", "../j1"])
def test_job_keys_are_names_too(tmp_path, key):
    message = refused(tmp_path, BASE.replace("  j1:\n", f"  '{key}':\n"))
    assert f"inv.yml:5:3: jobs.{key}: expected a name of letters" in message


def test_a_written_job_key_may_not_hold_the_job_at_host_separator(tmp_path):
    message = refused(tmp_path, BASE.replace("  j1:\n", "  j1@h1:\n"))
    assert message == ("inv.yml:5:3: jobs.j1@h1 = 'j1@h1': expected a job name of letters, digits, '.', "
                       "'_' and '-', not starting with '.' or '-': '@' separates a job from its host in the "
                       "ids the drill makes itself (a job of an Ansible group)")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    host: h1\n", "    name: other\n    host: h1\n",
     "inv.yml:6:11: jobs.j1.name = 'other': expected no 'name:' (the key 'j1' is the name)"),
    ('{transport: "ssh', '{name: "../../etc/x", transport: "ssh',
     "inv.yml:3:14: hosts.h1.name = '../../etc/x': expected no 'name:' (the key 'h1' is the name)"),
])
def test_a_name_that_differs_from_its_key_is_refused_and_the_rest_still_checked(tmp_path, old, new, expected):
    message = refused(tmp_path, BASE.replace(old, new).replace("rpo: 26h", "rpo: 26"))
    assert expected in message.splitlines()
    assert "jobs.j1.rpo: expected a duration with its unit" in message  # the rest is checked too


def test_a_name_equal_to_its_key_is_accepted(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text(BASE.replace("    host: h1\n", "    name: j1\n    host: h1\n"))
    assert load_inventory(path).jobs["j1"].name == "j1"


def test_programmatic_models_refuse_the_same_names():
    with pytest.raises(ValueError, match="expected a name of letters"):
        Job.model_validate({"name": "a/b", "host": "h", "kind": "restic-check", "repository": "/r",
                            "rpo": "1d"})
    with pytest.raises(ValueError, match=r"jobs\.j\.name: expected no 'name:'"):
        Inventory.model_validate({"name": "t", "hosts": {"h": {"transport": "local://"}}, "jobs": {
            "j": {"name": "k", "host": "h", "kind": "restic-check", "repository": "/r", "rpo": "1d"}}})
    two = {"a": {"host": "h", "kind": "restic-check", "repository": "/r", "rpo": "1d"}}
    expanded = {"a@h": {"name": "a", "host": "h", "kind": "restic-check", "repository": "/r", "rpo": "1d"}}
    with pytest.raises(ValueError, match=r"jobs\.a@h: job 'a@h' has the id a@h of job 'a'"):
        Inventory.model_validate({"name": "t", "hosts": {"h": {"transport": "local://"}},
                                  "jobs": {**two, **expanded}})


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("source: /data", "source: /data/../etc", "inv.yml:8:13: jobs.j1.source = '/data/../etc': expected "
     "a path without '..' components"),
    ("source: /data", "source: /data/..", "jobs.j1.source = '/data/..': expected a path without '..'"),
    ("    rto: 4h\n", "    rto: 4h\n    samples: {file: ../../space/projects, directory: d}\n",
     "inv.yml:12:21: jobs.j1.samples.file = '../../space/projects': expected a path inside the job's source, "
     "without '..' components"),
    ("    rto: 4h\n", "    rto: 4h\n    samples: {file: a/../../b, directory: d}\n",
     "without '..' components"),
    ("    rto: 4h\n", "    rto: 4h\n    samples: {file: /etc/shadow, directory: d}\n",
     "jobs.j1.samples.file = '/etc/shadow': expected a path relative to the job's source, without a "
     "leading '/'"),
    ("    rto: 4h\n", "    rto: 4h\n    samples: {file: '', directory: d}\n",
     "jobs.j1.samples.file = '': expected a path relative to the job's source"),
    ("    rto: 4h\n", "    rto: 4h\n    marker: {path: \"/data/m\\n.json\"}\n",
     "jobs.j1.marker.path = '/data/m\\n.json': expected a path without newlines or other control characters"),
    ('"ssh://backup@h1.example.net"}', '"ssh://backup@h1.example.net", scratch: /}',
     "inv.yml:3:59: hosts.h1.scratch = '/': expected a folder for the drill's restores"),
    ('"ssh://backup@h1.example.net"}', '"ssh://backup@h1.example.net", scratch: /data/tmp}',
     "inv.yml:3:59: hosts.h1.scratch: /data/tmp overlaps jobs.j1.source /data: the drill restores"),
    ('"ssh://backup@h1.example.net"}', '"ssh://backup@h1.example.net", scratch: //data}',
     "hosts.h1.scratch: /data overlaps jobs.j1.source /data"),
    ('"ssh://backup@h1.example.net"}', '"ssh://backup@h1.example.net", scratch: /}',
     "hosts.h1.scratch = '/'"),
    ('"ssh://backup@h1.example.net"}', '"ssh://backup@h1.example.net", scratch: /srv}',
     "hosts.h1.scratch: /srv overlaps jobs.j1.source /srv/data"),
])
def test_paths_never_climb_and_scratch_stays_apart(tmp_path, old, new, expected):
    text = BASE.replace(old, new)
    if "scratch: /srv" in new:
        text = text.replace("source: /data", "source: /srv/data")
    assert expected in refused(tmp_path, text)


def test_scratch_apart_from_dump_archive_and_results_paths(tmp_path):
    text = BASE.replace('example.net"}', 'example.net", scratch: /var/tmp/d}')
    text += ("  j2:\n    host: h1\n    kind: restore-test\n    results: /var/tmp/d/results\n    rpo: 8d\n"
             "    marker: {path: /var/lib/m.json}\n")
    expected = "hosts.h1.scratch: /var/tmp/d overlaps jobs.j2.results /var/tmp/d/results"
    assert expected in refused(tmp_path, text)


def test_a_dump_remote_may_not_climb(tmp_path):
    text = BASE.replace("kind: restic", "kind: clickhouse-backup").replace(
        "    rto: 4h\n", "    rto: 4h\n    dump: {remote: 'minio:backups/../other', tiers: {daily: 7}, "
        "database: a}\n")
    assert "jobs.j1.dump.remote = 'minio:backups/../other': expected an rclone remote path without '..'" \
        in refused(tmp_path, text)


@pytest.mark.parametrize(("old", "new", "shown", "advice"), [
    ("repository: s3:https://s3.example.net/bucket/j1", "repository: rest:https://drill:hunter2@rest.example.net/j1",
     "jobs.j1.repository = 'rest:https://drill:***@rest.example.net/j1'", "RESTIC_REST_PASSWORD"),
    ("repository: s3:https://s3.example.net/bucket/j1", "repository: s3:https://AKIAX:hunter2@s3.example.net/b",
     "jobs.j1.repository = 's3:https://AKIAX:***@s3.example.net/b'", "AWS_SECRET_ACCESS_KEY"),
    ("repository: s3:https://s3.example.net/bucket/j1", "repository: 'sftp:drill:hunter2@h:/srv/restic'",
     "jobs.j1.repository = 'sftp:drill:***@h:/srv/restic'",
     "RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND"),
    ("repository: s3:https://s3.example.net/bucket/j1", "repository: 'rclone:b2,key=hunter2:bucket/flux'",
     "jobs.j1.repository = 'rclone:b2,key=***:bucket/flux'", "RCLONE_CONFIG_B2_KEY"),
    ("kind: restic\n    source: /data\n    repository: s3:https://s3.example.net/bucket/j1",
     "kind: rclone-mirror\n    source: /data\n    destination: \":s3,provider=AWS,access_key_id=AKIAX,"
     "secret_access_key='hunter2,x:y':bucket\"",
     "jobs.j1.destination = ':s3,provider=AWS,access_key_id=***,secret_access_key=***:bucket'",
     "RCLONE_CONFIG_NAME_SECRET_ACCESS_KEY (and RCLONE_CONFIG_NAME_TYPE"),
    ("kind: restic\n    source: /data\n    repository: s3:https://s3.example.net/bucket/j1",
     "kind: rclone-mirror\n    source: /data\n    destination: 'mirror,pass=hunter2:space'",
     "jobs.j1.destination = 'mirror,pass=***:space'", "RCLONE_CONFIG_MIRROR_PASS"),
    ("kind: restic\n    source: /data\n    repository: s3:https://s3.example.net/bucket/j1",
     "kind: clickhouse-backup\n    dump: {remote: ':webdav,url=\"https://u:hunter2@dav\",token=hunter2:ch', "
     "tiers: {daily: 7}, database: a}",
     "jobs.j1.dump.remote = ':webdav,url=\"https://u:***@dav\",token=***:ch'", "RCLONE_CONFIG_NAME_TOKEN"),
    ('"ssh://backup@h1.example.net"', '"ssh://backup:hunter2@h1.example.net"',
     "hosts.h1.transport = 'ssh://backup:***@h1.example.net'", "log in with an ssh key instead"),
    ('"ssh://backup@h1.example.net"', '"ssh://backup@h1.example.net", jump_host: "ops:hunter2@bastion"',
     "hosts.h1.jump_host = 'ops:***@bastion'", "log in with an ssh key instead"),
])
def test_credentials_inside_urls_are_refused_masked_with_where_to_move_them(tmp_path, old, new, shown,
                                                                          advice):
    text = BASE.replace(old, new)
    assert text != BASE
    message = refused(tmp_path, text)
    assert "hunter2" not in message
    assert shown in message
    assert advice in message
    assert "credentials_env" in message or "ssh key" in message


@pytest.mark.parametrize("remote", ["b2mirror:space-mirror", ":b2:miket-space-mirror", "m,key_file=/k:p",
                                    ":s3,env_auth,provider=AWS:bucket"])
def test_remotes_without_secrets_load(tmp_path, remote):
    path = tmp_path / "inv.yml"
    path.write_text(BASE.replace("kind: restic", "kind: rclone-mirror").replace(
        "repository: s3:https://s3.example.net/bucket/j1", f"destination: '{remote}'"))
    assert load_inventory(path).jobs["j1"].destination == remote


def test_inventory_check_exits_4_on_bad_input_as_a_drill_does(tmp_path, capsys):
    good = tmp_path / "good.yml"
    good.write_text(BASE)
    bad = tmp_path / "bad.yml"
    bad.write_text(BASE.replace("rpo: 26h", "rpoo: 26h"))
    assert main(["inventory", "check", str(good)]) == 0
    assert "1 host(s), 1 job(s): valid" in capsys.readouterr().out
    assert main(["inventory", "check", str(bad)]) == 4
    assert f"{bad}:10:5: jobs.j1.rpoo: unknown key (did you mean 'rpo'?)" in capsys.readouterr().err
    assert main(["inventory", "check", str(tmp_path / "missing.yml")]) == 4


@pytest.mark.parametrize(("remote", "shown", "fragments"), [
    (":azureblob,sas_url=https://a.blob/c?sig=TOPSECRETSIG123:c", "':azureblob,sas_url=***:c'",
     ["https", "a.blob", "TOPSECRETSIG123"]),
    (":sftp,host=h,pass=hunter:2password:dir", "':sftp,host=h,pass=***:dir'", ["hunter", "2password"]),
    (":sftp,pass=hunter 2password:dir", "':sftp,pass=***:dir'", ["hunter", "2password"]),
    (":s3,secret_access_key=hunter:2password,provider=AWS:b", "':s3,secret_access_key=***,provider=AWS:b'",
     ["hunter", "2password"]),
    (":s3,secret_access_key=hunter:2password:", "':s3,secret_access_key=***:'", ["hunter", "2password"]),
    (":s3,secret_access_key=hunter", "':s3,secret_access_key=***'", ["hunter"]),
])
def test_no_part_of_a_secret_option_value_is_shown_whatever_colons_it_holds(tmp_path, remote, shown,
                                                                           fragments):
    """rclone ends an unquoted value at a ':', but a user may mean the colon as part of it (a
    SAS URL): the value is hidden up to the next option, or else to the last ':' (the path)."""
    text = BASE.replace("kind: restic", "kind: rclone-mirror").replace(
        "repository: s3:https://s3.example.net/bucket/j1", f"destination: '{remote}'")
    message = refused(tmp_path, text)
    assert f"jobs.j1.destination = {shown}: secret rclone option(s)" in message, message
    assert not any(fragment in message for fragment in fragments), message


@pytest.mark.parametrize("jump", ["ops@bastion:2222,ops@second", "ops@bastion:99999", "-oProxyCommand=x",
                                  "ssh://ops@bastion/path", "ops@::1", "ops@[2001:db8::1]:2222"])
def test_a_jump_host_is_one_hop_in_the_form_the_transport_hands_ssh(tmp_path, jump):
    text = BASE.replace('"ssh://backup@h1.example.net"',
                        f'"ssh://backup@h1.example.net", jump_host: "{jump}"')
    assert f"hosts.h1.jump_host = '{jump}': expected one jump host as ssh://[user@]host[:port] (or " \
        "[user@]host[:port]), host a name or IPv4 address (an IPv6 one through a Host alias in " \
        "ssh_config); a chain of jump hosts is not supported" in refused(tmp_path, text)


@pytest.mark.parametrize(("jump", "url"), [("bastion", "ssh://bastion"), ("ops@10.0.0.1:2222", "ssh://ops@10.0.0.1:2222"),
                                           ("ssh://ops@bastion.example.net:22", "ssh://ops@bastion.example.net:22")])
def test_a_proxyjump_hop_is_taken_as_ssh_s_url(tmp_path, jump, url):
    path = tmp_path / "inv.yml"
    path.write_text(BASE.replace('"ssh://backup@h1.example.net"',
                                 f'"ssh://backup@h1.example.net", jump_host: "{jump}"'))
    assert load_inventory(path).hosts["h1"].jump_host == url


@pytest.mark.parametrize(("text", "masked"), [
    ("rclone lsf :sftp,pass=hunter:2password:dir/x --max-depth 1",
     "rclone lsf :sftp,pass=***:dir/x --max-depth 1"),
    ('{"destination": ":sftp,pass=hunter:2password:dir", "rpo": 1}',
     '{"destination": ":sftp,pass=***:dir", "rpo": 1}'),
    ("rclone lsf ':azureblob,sas_url=https://a.blob/c?sig=TOPSECRETSIG123 x:c' -q",
     "rclone lsf ':azureblob,sas_url=***:c' -q"),
    (":s3,key='hunter:2password,x':b", ":s3,key=***:b"),
    (":s3,pass=hunter:2password,token=hunter2,region=x:b", ":s3,pass=***,token=***,region=x:b"),
])
def test_a_secret_option_is_masked_whole_in_any_text(text, masked):
    assert credentials.mask(text) == masked
