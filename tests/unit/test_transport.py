import hashlib
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from drills.core import transport
from drills.core.progress import written_into
from drills.core.transport import MASK, CommandTimedOut, DrillCouldNotRun, HostUnreachable, Remote, script
from drills.inventory.schema import Host


def test_runs_through_the_shell_and_keeps_bytes(local):
    result = local.run("printf 'a\\0b'; echo oops >&2; exit 3")
    assert (result.exit_status, result.stdout, result.stderr.strip()) == (3, b"a\0b", "oops")
    assert not result.ok


def test_every_command_has_a_timeout_naming_the_host():
    remote = Remote(Host(name="slowhost", transport="local://"), timeout=1)
    with pytest.raises(CommandTimedOut, match=r"host slowhost: command timed out after 1s: sleep 30"):
        remote.run("sleep 30")


def test_check_raises_could_not_run_with_the_tail(local):
    with pytest.raises(DrillCouldNotRun, match="host runner: `echo x >&2; false` exited 1: x"):
        local.run("echo x >&2; false", check=True)


def test_credentials_are_sourced_on_the_host_never_put_in_the_command(tmp_path):
    env = tmp_path / "creds.env"
    env.write_text("SECRET_TOKEN=s3cr3t-value\n")
    env.chmod(0o600)
    remote = Remote(Host(name="h", transport="local://", credentials_env=str(env)))
    command = remote.with_credentials(["sh", "-c", 'test "$SECRET_TOKEN" = s3cr3t-value'])
    assert "s3cr3t-value" not in command.replace("= s3cr3t-value", "")
    assert remote.run(command).ok


def test_runner_credentials_travel_on_stdin_and_are_masked_in_what_comes_back(monkeypatch):
    monkeypatch.setenv("DRILL_TEST_TOKEN", "s3cr3t-'value' $x")
    remote = Remote(Host(name="h", transport="local://", credentials_from_env=["DRILL_TEST_TOKEN"]))
    seen: list[tuple[bytes, bytes]] = []
    real_run = subprocess.run

    def spy(args, **kwargs):  # the command line a process listing would show, and its stdin
        seen.append((args, kwargs.get("input") or b""))
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    digest = remote.run(remote.with_credentials(["sh", "-c", 'printf %s "$DRILL_TEST_TOKEN" | sha256sum']))
    assert digest.text.split()[0] == hashlib.sha256(b"s3cr3t-'value' $x").hexdigest()  # exact
    echo = 'echo "$DRILL_TEST_TOKEN" >&2; echo "$DRILL_TEST_TOKEN"'
    echoed = remote.run(remote.with_credentials(["sh", "-c", echo]))
    assert echoed.text.strip() == MASK
    assert echoed.stderr.strip() == MASK
    assert len(seen) == 2
    for line, stdin in seen:
        assert b"s3cr3t" not in line
        assert b"s3cr3t" in stdin


def test_a_runner_credential_the_environment_lacks_means_could_not_run(monkeypatch):
    monkeypatch.delenv("DRILL_TEST_ABSENT", raising=False)
    remote = Remote(Host(name="h", transport="local://", credentials_from_env=["DRILL_TEST_ABSENT"]))
    with pytest.raises(DrillCouldNotRun, match="host h: the runner's environment lacks DRILL_TEST_ABSENT"):
        remote.run(remote.with_credentials(["true"]))


def test_runner_credentials_need_a_transport_with_stdin():
    with pytest.raises(ValueError, match="credentials_from_env needs an ssh:// or local:// transport"):
        Host(name="h", transport="docker://box", credentials_from_env=["RESTIC_PASSWORD"])
    with pytest.raises(ValueError, match="credentials_from_env"):
        Host(name="h", transport="ssh://box", credentials_from_env=["NOT A NAME"])


def test_an_unreadable_credentials_file_means_could_not_run_naming_it(tmp_path):
    remote = Remote(Host(name="h", transport="local://", credentials_env=str(tmp_path / "absent.env")))
    named = f"host h: cannot read its credentials file {tmp_path}/absent.env"
    with pytest.raises(DrillCouldNotRun, match=named):
        remote.run(remote.with_credentials(["true"]))


def test_an_ssh_host_that_refuses_is_unreachable_by_name():
    remote = Remote(Host(name="gone", transport="ssh://drill@127.0.0.1:1"))
    assert remote.probe() is not None
    with pytest.raises(HostUnreachable, match=r"host gone unreachable: .*Connection refused"):
        remote.run("true")


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung sshd, a black hole)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in [*held, server]:
            conn.close()


@contextmanager
def filtered_port() -> Iterator[int]:
    """A port whose SYNs go unanswered, as behind a dropping firewall: a listener that never
    accepts, its queue already full."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = server.getsockname()[1]
    fillers = [socket.socket() for _ in range(3)]
    for filler in fillers:
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
    time.sleep(0.3)
    try:
        yield port
    finally:
        for conn in [*fillers, server]:
            conn.close()


@pytest.mark.parametrize(
    ("port", "scheme", "reason", "bound"),
    [
        (silent_port, "ssh", r"timed out|[Bb]anner", 30),
        (silent_port, "paramiko", r"timed out|[Bb]anner", 30),
        (filtered_port, "ssh", r"timed out", 15),
    ],
    ids=["silent-ssh", "silent-paramiko", "filtered-ssh"],
)
def test_a_host_that_never_answers_is_unreachable_by_name_within_the_bound(port, scheme, reason, bound):
    with port() as number:
        remote = Remote(Host(name="mute", transport=f"{scheme}://drill@127.0.0.1:{number}"))
        started = time.monotonic()
        with pytest.raises(HostUnreachable, match=rf"host mute unreachable: .*({reason})"):
            remote.run("true")
    assert time.monotonic() - started < bound


def test_a_refusing_host_over_paramiko_is_unreachable_not_a_traceback():
    remote = Remote(Host(name="gone", transport="paramiko://drill@127.0.0.1:1"))
    with pytest.raises(HostUnreachable, match=r"host gone unreachable: .*(refused|Unable to connect)"):
        remote.run("true")


def test_a_long_command_logs_progress_while_it_runs_and_a_line_when_it_ends(monkeypatch, caplog):
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 0.3)
    remote = Remote(Host(name="slowhost", transport="local://"), timeout=30)
    with caplog.at_level(logging.INFO, logger="drills.core.transport"):
        assert remote.run("sleep 1.2; echo done").ok
    beats = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert len(beats) >= 2, caplog.text  # every 0.3 s of 1.2 s, whatever the machine's load
    assert beats[0].startswith("host slowhost: still running after 0s of its 30s limit: sleep 1.2; echo")
    assert any(r.getMessage().startswith("host slowhost: finished in 1s (exit 0)") for r in caplog.records)
    caplog.clear()
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 5)
    with caplog.at_level(logging.INFO, logger="drills.core.transport"):
        remote.run("sleep 0.5", timeout=2)  # a limit shorter than the beat: no heartbeat at all
    assert not [r for r in caplog.records if "still running" in r.getMessage()]


def test_a_package_script_gets_its_arguments_as_values_never_as_shell_text(tmp_path):
    remote = Remote(Host(name="h", transport="local://"), timeout=30)
    hostile = str(tmp_path / "it's $(touch pwned); `touch pwned2`")
    result = remote.run(script("process-group-stop", hostile))  # no such group file: nothing to do
    assert result.ok, result.tail()
    assert not list(tmp_path.glob("pwned*")), "an argument ran as shell"


def test_the_sweep_stops_a_leftover_writer_removes_its_folder_and_spares_itself(tmp_path):
    leftover = tmp_path / "drill-20261129T000000-dead"
    leftover.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(leftover)])
    try:
        remote = Remote(Host(name="h", transport="local://"), timeout=30)
        result = remote.run(script("sweep", str(tmp_path), "d", "rill-20261129T000000-dead"))
        assert result.ok, result.tail()
        assert writer.wait(timeout=10) != 0  # stopped
        assert not leftover.exists()
    finally:
        writer.kill()


def test_the_folder_of_pinned_host_keys_goes_with_the_process(tmp_path):
    script = ("from drills.core.transport import host_key_options, _PINNED\n"
              "from drills.inventory.schema import Host\n"
              "host = Host(name='db1', transport='ssh://db1', ssh_host_key='ssh-ed25519 AAAAC3Nz')\n"
              "host_key_options(host)\n"
              "print(_PINNED[0])\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    folder = Path(run.stdout.strip())
    assert run.returncode == 0, run.stderr
    assert folder.name.startswith("backup-drills-known-hosts-"), run.stdout
    assert not folder.exists()


def test_a_long_restore_says_every_beat_how_much_it_has_written(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 0.3)
    remote = Remote(Host(name="slowhost", transport="local://"), timeout=30)
    target = tmp_path / "scratch"
    writer = f"mkdir -p {target}; head -c 1048576 /dev/zero > {target}/a; sleep 1.5; " \
             f"head -c 1048576 /dev/zero > {target}/b"
    with caplog.at_level(logging.INFO, logger="drills.core.transport"):
        assert remote.run(writer, progress=written_into(remote, str(target), 4 * 2**20)).ok
    beats = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert any("of its 30s limit (1.0 MiB of 4.0 MiB written (25%)):" in beat for beat in beats), beats


def test_a_progress_reader_that_fails_costs_the_command_nothing(monkeypatch, caplog):
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 0.2)
    remote = Remote(Host(name="slowhost", transport="local://"), timeout=30)

    def broken() -> str:
        raise OSError("du: cannot read")

    with caplog.at_level(logging.INFO, logger="drills.core.transport"):
        assert remote.run("sleep 0.7; echo done", progress=broken).text.strip() == "done"
    beats = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert beats, caplog.text
    assert all("limit: sleep" in beat for beat in beats), beats  # the beat without a reading
