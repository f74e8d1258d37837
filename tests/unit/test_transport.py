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

from backup_drills.core import transport
from backup_drills.core.progress import written_into
from backup_drills.core.transport import (
    MASK,
    CommandTimedOut,
    DrillCouldNotRun,
    HostUnreachable,
    Remote,
    script,
)
from backup_drills.inventory.schema import Host


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


def test_a_traceback_with_locals_through_run_shows_the_stdin_payload_masked(monkeypatch):
    """The payload holds each value shell-quoted (``'ab'"'"'cd'``): a form the masker does not
    know, so ``run`` and ``_backend_run`` hold it as a Secret, shown as the mask by ``-l``."""
    from backup_drills.core import secrets

    monkeypatch.setenv("DRILL_TEST_QUOTED", "-".join(["wxyz", "ab'cd", "qrstuv"]))
    remote = Remote(Host(name="h", transport="local://", credentials_from_env=["DRILL_TEST_QUOTED"]))

    def broken(command):  # fails in _backend_run, after the payload was made
        raise ValueError("the backend broke")

    monkeypatch.setattr(remote._host.backend, "get_command", broken)
    with pytest.raises(ValueError, match="the backend broke") as failed:
        remote.run(remote.with_credentials(["true"]))
    shown = str(failed.getrepr(showlocals=True, style="long"))
    assert "_backend_run" in shown, shown
    assert "payload    = Secret(********)" in shown, shown
    assert "stdin      = Secret(********)" in shown, shown
    masked = secrets.mask(shown)  # as the report plugin shows it
    assert not any(part in masked for part in ("wxyz-ab", "cd-qrstuv")), masked  # either side of '"


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
    with caplog.at_level(logging.INFO, logger="backup_drills.core.transport"):
        assert remote.run("sleep 1.2; echo done").ok
    beats = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert len(beats) >= 2, caplog.text  # every 0.3 s of 1.2 s, whatever the machine's load
    assert beats[0].startswith("host slowhost: still running after 0s of its 30s limit: sleep 1.2; echo")
    assert any(r.getMessage().startswith("host slowhost: finished in 1s (exit 0)") for r in caplog.records)
    caplog.clear()
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 5)
    with caplog.at_level(logging.INFO, logger="backup_drills.core.transport"):
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


def test_the_sweep_stops_only_the_processes_of_its_own_folder(tmp_path):
    """Another run's folder whose name begins the same, the same name under another root: their
    restores go on. A process working in the folder (borg extract: its cwd) is stopped."""
    root, other_root = tmp_path / "scratch", tmp_path / "elsewhere"
    name = "drill-vm-1-2-abcdef"
    leftover, longer, same_name = root / name, root / f"{name}0", other_root / name
    for folder in (leftover, longer, same_name):
        folder.mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    named = subprocess.Popen([*sleeper, f"{leftover}/restore"])
    inside = subprocess.Popen(sleeper, cwd=leftover)
    spared = [subprocess.Popen([*sleeper, str(longer)]), subprocess.Popen([*sleeper, str(same_name)]),
              subprocess.Popen([*sleeper, f"{root}/d rill-vm-1-2-abcdef"])]
    try:
        remote = Remote(Host(name="h", transport="local://"), timeout=30)
        result = remote.run(script("sweep", str(root), "d", "rill-vm-1-2-abcdef"))
        assert result.ok, result.tail()
        assert named.wait(timeout=10) != 0
        assert inside.wait(timeout=10) != 0
        assert [process.poll() for process in spared] == [None, None, None]
        assert not leftover.exists()
        assert longer.exists()
        assert same_name.exists()
    finally:
        for process in (named, inside, *spared):
            process.kill()
            process.wait(timeout=10)


def test_the_private_folders_are_0700_and_go_with_the_process(tmp_path):
    script = ("from backup_drills.core.transport import host_key_options, control_path\n"
              "from backup_drills.inventory.schema import Host\n"
              "host = Host(name='db1', transport='ssh://db1', ssh_host_key='ssh-ed25519 AAAAC3Nz')\n"
              "import os, pathlib\n"
              "pinned = host_key_options(host).split('UserKnownHostsFile=')[1].split()[0]\n"
              "for folder in (pathlib.Path(control_path(host)).parent, pathlib.Path(pinned).parent):\n"
              "    print(folder, oct(folder.stat().st_mode & 0o777))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stderr
    folders = [line.split() for line in run.stdout.splitlines()]
    assert [mode for _, mode in folders] == ["0o700", "0o700"], run.stdout
    assert {Path(folder).name[:7] for folder, _ in folders} == {"bd-ssh-", "bd-keys"}, run.stdout
    assert not any(Path(folder).exists() for folder, _ in folders)  # removed at exit


def effective_ssh_options(remote: Remote) -> dict[str, str]:
    """What ssh makes of the very command line the transport runs (``ssh -G``: the options in
    force after the command line and the ssh_config, nothing sent anywhere)."""
    backend = remote._host.backend
    words, args = backend._build_ssh_command("true")
    line = backend.quote(" ".join(words), *args)
    assert line.startswith("ssh ")
    shown = subprocess.run("ssh -G " + line.removeprefix("ssh "), shell=True, capture_output=True,
                           text=True, timeout=30, check=True)
    return dict(line.split(" ", 1) for line in shown.stdout.splitlines() if " " in line)


@pytest.fixture
def loose_config(tmp_path):
    """A user's ssh_config that would accept any new key and remember none."""
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile /dev/null\n"
                      "  LogLevel QUIET\n")
    return config


def test_ssh_checks_host_keys_strictly_whatever_the_users_ssh_config_says(loose_config, tmp_path):
    known = tmp_path / "known hosts %d"
    options = {
        "user": {},
        "known_hosts": {"ssh_known_hosts": str(known)},
        "pinned": {"ssh_host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest"},
    }
    seen = {name: effective_ssh_options(Remote(Host(name="db1", transport="ssh://drill@db1.example.net:2222",
                                                    ssh_config=str(loose_config), **extra)))
            for name, extra in options.items()}
    for effective in seen.values():
        assert effective["stricthostkeychecking"] == "true"  # "yes": accept-new overridden
        assert effective["loglevel"] == "ERROR"  # ssh says why it refused a key
        assert effective["batchmode"] == "yes"
    home = Path("~").expanduser()
    assert seen["user"]["userknownhostsfile"] == f"{home}/.ssh/known_hosts {home}/.ssh/known_hosts2"
    assert "hostkeyalias" not in seen["user"]
    assert seen["known_hosts"]["userknownhostsfile"] == str(known)  # a space and a % kept as they are
    pinned = Path(seen["pinned"]["userknownhostsfile"])
    alias = seen["pinned"]["hostkeyalias"]
    # filed under an alias: the address and port do not matter
    assert pinned.read_text() == f"{alias} {options['pinned']['ssh_host_key']}\n"


def test_a_jump_host_is_checked_as_strictly_as_the_host(loose_config, tmp_path):
    known = tmp_path / "known_hosts"
    remote = Remote(Host(name="db1", transport="ssh://db1", ssh_config=str(loose_config),
                         ssh_known_hosts=str(known), jump_host="bastion"))
    effective = effective_ssh_options(remote)
    assert "proxyjump" not in effective  # ProxyJump would hand the jump's ssh only -F
    proxy = effective["proxycommand"]
    assert proxy.startswith(f"ssh -F {loose_config} -o BatchMode=yes -o StrictHostKeyChecking=yes "
                            f"-o UserKnownHostsFile={known} "), proxy
    assert proxy.endswith(" -W '[%h]:%p' -- ssh://bastion"), proxy  # ProxyJump's form, as ssh's URL


def test_the_control_socket_is_private_and_short_enough_for_a_unix_socket():
    host = Host(name="db1", transport="ssh://db1", jump_host="bastion.example.net")
    path = Remote(host)._host.backend.ssh_extra_args.split("ControlPath=")[1].split()[0]
    folder = Path(path).parent
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert folder.owner() == Path("~").expanduser().owner()
    longest = len(path.replace("%C", "x" * 40)) + 17  # ssh binds a temporary name 17 bytes longer
    assert longest < 108, path


CHANGED = """@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the ED25519 key sent by the remote host is
SHA256:4MKginGGkcZV88q+T6VfsnOM6eVYA5o7KUgtEsTKwYo.
Please contact your system administrator.
Add correct host key in /tmp/kh to get rid of this message.
Offending ED25519 key in /tmp/kh:1
  remove with:
  ssh-keygen -f "/tmp/kh" -R "[127.0.0.1]:2221"
Host key for [127.0.0.1]:2221 has changed and you have requested strict checking.
Host key verification failed.
"""  # OpenSSH 9.2's words


def test_a_changed_host_key_is_named_with_the_offered_fingerprint_and_the_fix():
    host = Host(name="db1", transport="ssh://db1", ssh_known_hosts="/tmp/kh")
    reason = transport._ssh_reason(RuntimeError(CHANGED), host)
    assert reason.startswith("Host key verification failed: [127.0.0.1]:2221 offered ED25519 key "
                             "SHA256:4MKginGGkcZV88q+T6VfsnOM6eVYA5o7KUgtEsTKwYo, not the key "
                             "ssh_known_hosts (/tmp/kh) lists for it"), reason
    assert reason.endswith("verify the fingerprint, then: ssh-keygen -R '[127.0.0.1]:2221' -f /tmp/kh; "
                           "ssh-keyscan -t ed25519 -p 2221 127.0.0.1 >> /tmp/kh, or pin it with "
                           "ssh_host_key: in the inventory"), reason


def test_an_unknown_host_key_that_cannot_be_scanned_still_says_the_fix():
    stderr = ("No ED25519 host key is known for [127.0.0.1]:1 and you have requested strict checking.\n"
              "Host key verification failed.\n")
    reason = transport._ssh_reason(RuntimeError(stderr), Host(name="db1", transport="ssh://db1"))
    home = Path("~").expanduser()
    assert reason == ("Host key verification failed: [127.0.0.1]:1 offered ED25519 key (its fingerprint "
                      "could not be read from the runner), which the user's known_hosts "
                      f"({home}/.ssh/known_hosts, {home}/.ssh/known_hosts2) does not list; verify the "
                      "fingerprint, then: ssh-keyscan -t ed25519 -p 1 127.0.0.1 >> "
                      f"{home}/.ssh/known_hosts, or pin it with ssh_host_key: in the inventory")


def test_a_long_restore_says_every_beat_how_much_it_has_written(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 0.3)
    remote = Remote(Host(name="slowhost", transport="local://"), timeout=30)
    target = tmp_path / "scratch"
    writer = f"mkdir -p {target}; head -c 1048576 /dev/zero > {target}/a; sleep 1.5; " \
             f"head -c 1048576 /dev/zero > {target}/b"
    with caplog.at_level(logging.INFO, logger="backup_drills.core.transport"):
        assert remote.run(writer, progress=written_into(remote, str(target), 4 * 2**20)).ok
    beats = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert any("of its 30s limit (1.0 MiB of 4.0 MiB written (25%)):" in beat for beat in beats), beats


def test_a_progress_reader_that_fails_costs_the_command_nothing(monkeypatch, caplog):
    monkeypatch.setattr(transport, "PROGRESS_EVERY", 0.2)
    remote = Remote(Host(name="slowhost", transport="local://"), timeout=30)

    def broken() -> str:
        raise OSError("du: cannot read")

    with caplog.at_level(logging.INFO, logger="backup_drills.core.transport"):
        assert remote.run("sleep 0.7; echo done", progress=broken).text.strip() == "done"
    beats = [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]
    assert beats, caplog.text
    assert all("limit: sleep" in beat for beat in beats), beats  # the beat without a reading


@contextmanager
def paramiko_sshd(key) -> Iterator[tuple[int, list[bytes]]]:
    """A real SSH server on loopback (paramiko's server side) with host key ``key``: it accepts
    any client key and answers every command with ``ran``; ``commands`` lists what arrived. As
    a jump host, it forwards a connection (``ssh -W``) to a loopback port."""
    import paramiko

    commands: list[bytes] = []
    forwards: dict[int, tuple[str, int]] = {}
    opened: list[socket.socket] = []

    def bridge(channel: paramiko.Channel, to: socket.socket) -> None:
        def pump(receive, send, done) -> None:
            with suppress(OSError, EOFError):
                while data := receive(32768):
                    send(data)
            with suppress(OSError, EOFError):
                done()

        threading.Thread(target=pump, args=(channel.recv, to.sendall, lambda: to.shutdown(socket.SHUT_WR)),
                         daemon=True).start()
        threading.Thread(target=pump, args=(to.recv, channel.sendall, channel.shutdown_write),
                         daemon=True).start()

    def forward(server: paramiko.Transport) -> None:
        while server.is_active():
            channel = server.accept(0.2)
            if channel is not None and channel.get_id() in forwards:
                opened.append(socket.create_connection(forwards[channel.get_id()], timeout=10))
                bridge(channel, opened[-1])

    class Server(paramiko.ServerInterface):
        def check_channel_direct_tcpip_request(self, chanid, origin, destination):
            if destination[0] != "127.0.0.1":
                return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
            forwards[chanid] = destination
            return paramiko.OPEN_SUCCEEDED

        def get_allowed_auths(self, username):
            return "publickey"

        def check_auth_publickey(self, username, key):
            return paramiko.AUTH_SUCCESSFUL

        def check_channel_request(self, kind, chanid):
            return paramiko.OPEN_SUCCEEDED

        def check_channel_exec_request(self, channel, command):
            commands.append(command)

            def answer() -> None:
                channel.sendall(b"ran\n")
                channel.send_exit_status(0)
                channel.close()

            threading.Timer(0.05, answer).start()
            return True

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                conn = listener.accept()[0]
                server = paramiko.Transport(conn)
                server.add_server_key(key)
                transports.append(server)
                with suppress(paramiko.SSHException, EOFError):
                    server.start_server(server=Server())
                    threading.Thread(target=forward, args=(server,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], commands
    finally:
        stop.set()
        thread.join()
        for server in transports:
            server.close()
        for connection in opened:
            connection.close()
        listener.close()


def test_paramiko_refuses_a_host_key_it_does_not_know_before_any_command(tmp_path, monkeypatch):
    import paramiko

    impostor, real = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    identity = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(identity)], check=True,
                   timeout=30)
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    monkeypatch.setattr(transport, "USER_KNOWN_HOSTS", (str(empty),))
    monkeypatch.setattr(transport, "SYSTEM_KNOWN_HOSTS", ())
    with paramiko_sshd(impostor) as (port, commands):
        spec = f"paramiko://drill@127.0.0.1:{port}"
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {real.get_name()} {real.get_base64()}\n")
        # unknown (the user's files list nothing), changed (the inventory's file lists another
        # key), not the pinned one: each refused naming the key the server offered
        for extra, said in [({}, "which the user's known_hosts"),
                            ({"ssh_known_hosts": str(known)}, "not the key ssh_known_hosts"),
                            ({"ssh_host_key": f"{real.get_name()} {real.get_base64()}"},
                             "not the key its ssh_host_key pins")]:
            remote = Remote(Host(name="db1", transport=spec, ssh_identity_file=str(identity), **extra))
            with pytest.raises(HostUnreachable) as refused:
                remote.run("touch /tmp/pwned")
            message = str(refused.value)
            assert message.startswith("host db1 unreachable: Host key verification failed: "), message
            assert impostor.fingerprint in message, message
            assert said in message, message
        assert commands == []  # nothing reached the server
        # the same server, its key trusted: by a known_hosts file, or pinned (address and port
        # do not matter: the pinned key is the host's, whatever it is reached by)
        known.write_text(f"[127.0.0.1]:{port} {impostor.get_name()} {impostor.get_base64()}\n")
        for extra in [{"ssh_known_hosts": str(known)},
                      {"ssh_host_key": f"{impostor.get_name()} {impostor.get_base64()}"}]:
            trusted = Remote(Host(name="db1", transport=spec, ssh_identity_file=str(identity), **extra))
            assert trusted.run("true").text == "ran\n"
        assert len(commands) == 2


def test_a_jump_hosts_refused_key_is_said_to_be_the_jumps_with_its_own_fix(tmp_path, monkeypatch):
    """Through a jump host (ssh's ProxyCommand), the refused key is named for the host that
    offered it: the jump's unknown key is the jump's, with the jump's fingerprint and its
    known_hosts line, never "set ssh_host_key: of the host"; with the jump's key trusted, the
    host's own wrong key is the host's. A user ssh_config that would accept anything is loaded."""
    import paramiko

    identity = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(identity)], check=True,
                   timeout=30)
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                      f"  IdentityFile {identity}\n")  # the jump's ssh gets -F, not -i
    known = tmp_path / "known_hosts"
    known.write_text("")
    monkeypatch.setattr(transport, "USER_KNOWN_HOSTS", (str(known),))
    monkeypatch.setattr(transport, "SYSTEM_KNOWN_HOSTS", ())
    target_key, jump_key, other = (paramiko.ECDSAKey.generate() for _ in range(3))
    with paramiko_sshd(target_key) as (port, commands), paramiko_sshd(jump_key) as (jump_port, jumped):
        def remote(pinned: paramiko.PKey) -> Remote:
            return Remote(Host(name="h1", transport=f"ssh://root@127.0.0.1:{port}", ssh_config=str(config),
                               ssh_identity_file=str(identity), jump_host=f"root@127.0.0.1:{jump_port}",
                               ssh_host_key=f"{pinned.get_name()} {pinned.get_base64()}"))

        with pytest.raises(HostUnreachable) as refused:
            remote(target_key).run("touch /tmp/pwned")
        message = str(refused.value)
        assert message == (
            "host h1 unreachable: Host key verification failed: the jump host "
            f"ssh://root@127.0.0.1:{jump_port} ([127.0.0.1]:{jump_port}) offered ECDSA key "
            f"{jump_key.fingerprint}, which the user's known_hosts ({known}) does not list; verify the "
            f"fingerprint, then: ssh-keyscan -t ecdsa -p {jump_port} "
            f"127.0.0.1 >> {known} (the jump host's own key; the ssh_host_key of host h1 pins that host's "
            "key only)"), message
        assert target_key.fingerprint not in message
        assert commands == []
        assert jumped == []

        known.write_text(f"[127.0.0.1]:{jump_port} {jump_key.get_name()} {jump_key.get_base64()}\n")
        with pytest.raises(HostUnreachable) as refused:  # the jump is trusted, the host's pin is wrong
            remote(other).run("touch /tmp/pwned")
        message = str(refused.value)
        assert message.startswith("host h1 unreachable: Host key verification failed: the host offered "
                                  f"ECDSA key {target_key.fingerprint}, not the key its ssh_host_key pins; "
                                  "verify the fingerprint on the host"), message
        assert "jump" not in message, message
        assert jump_key.fingerprint not in message, message
        assert commands == []

        assert remote(target_key).run("true").text == "ran\n"  # both keys trusted: through the jump
        assert len(commands) == 1
