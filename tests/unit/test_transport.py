import pytest

from drills.inventory import Host
from drills.transport import CommandTimedOut, DrillCouldNotRun, HostUnreachable, Remote


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


def test_an_ssh_host_that_refuses_is_unreachable_by_name():
    remote = Remote(Host(name="gone", transport="ssh://drill@127.0.0.1:1"))
    assert remote.probe() is not None
    with pytest.raises(HostUnreachable, match=r"host gone unreachable: .*Connection refused"):
        remote.run("true")
