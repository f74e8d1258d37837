"""backup_drills.core.tool_errors on borg's real outputs (tests/unit/recorded/borg-*/failures/: a scratch
repository of borg 1.2.4 and 1.4.0, three archives, then one fault each: the data segment
deleted, the manifest's segment deleted, the newest segment deleted, one byte flipped in the
middle of the data segment; a wrong passphrase, no repository, the lock held). Damage is NOT
COMPLIANT, named by borg's own line; only a repository borg cannot open is COULD NOT RUN; no
message quotes a traceback, borg's footer, a table or borg check's per-object lines. The words
are borg's own table (Borg.ERRORS), borgmatic's are its own before borg's."""

from pathlib import Path

import pytest

from backup_drills.adapters.borg import Borg
from backup_drills.adapters.restic import Restic, RestoreFailed
from backup_drills.core.backends import Backend, classify, probe
from backup_drills.core.tool_errors import (
    COULD_NOT_RUN,
    DAMAGE,
    MAX_CHARS,
    MAX_LINES,
    RepositoryDamaged,
    ToolCouldNotRun,
    failure,
    judge,
    named,
)
from backup_drills.core.transport import DrillCouldNotRun, Result

RECORDED = Path(__file__).parent / "recorded"
VERSIONS = ("borg-1.2", "borg-1.4")

# recorded file: (what it is, borg's own words the message must keep)
CASES = {
    "flipped-byte.check": (DAMAGE, "Segment entry checksum mismatch [segment 2, offset "),
    "flipped-byte.extract": (DAMAGE, "IntegrityError: Data integrity error: Segment entry checksum mismatch"),
    "deleted-data-segment.check": (DAMAGE, "Index object count mismatch."),
    "deleted-data-segment.extract": (DAMAGE, "No such file or directory: '/tmp/borgscratch/repo/data/0/2'"),
    "deleted-data-segment.info": (DAMAGE, "No such file or directory: '/tmp/borgscratch/repo/data/0/2'"),
    "deleted-manifest-segment.list-last": (DAMAGE,
                                           "No such file or directory: '/tmp/borgscratch/repo/data/0/12'"),
    "deleted-manifest-segment.check": (DAMAGE, "Index object count mismatch."),
    "deleted-newest-segment.list-last": (DAMAGE, "is newer than repository"),
    "wrong-passphrase.list-last": (COULD_NOT_RUN, "passphrase supplied in BORG_PASSPHRASE"),
    "no-repository.list-last": (COULD_NOT_RUN, "Repository /tmp/borgscratch/nope does not exist."),
    "lock-held.check": (COULD_NOT_RUN, "Failed to create/acquire the lock"),
}
NOISE = ("Traceback", "Platform:", "PID:", "sys.argv", "SSH_ORIGINAL_COMMAND", "Borg:", "File \"",
         "Original size", "Deduplicated size", "rebuilt index: <not found>", "KeyError", "^^^", "-----")


def recorded(version: str, name: str) -> str:
    return (RECORDED / version / "failures" / f"{name}.txt").read_text()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", CASES)
def test_the_message_keeps_borgs_own_line_and_none_of_its_noise(version, name):
    output = recorded(version, name)
    kind, words = CASES[name]
    judgement = judge(output, Borg.ERRORS)
    assert judgement is not None
    assert judgement.kind == kind, judgement
    message = named(output, Borg.ERRORS)
    assert words in message, message
    assert not [line for line in message.splitlines() for noise in NOISE if noise in line], message
    quoted = [line for line in message.splitlines() if not line.startswith("(and ")]
    assert 1 <= len(quoted) <= MAX_LINES, message
    assert len("\n".join(quoted)) <= MAX_CHARS, message


@pytest.mark.parametrize("version", VERSIONS)
def test_a_flipped_byte_is_named_before_the_index_counts_and_the_rest_is_counted(version):
    message = named(recorded(version, "flipped-byte.check"), Borg.ERRORS)
    lines = message.splitlines()
    assert lines[0].startswith("Data integrity error: Segment entry checksum mismatch"), message
    assert lines[1] == "Index object count mismatch.", message
    assert lines[-1].startswith("(and "), message
    assert lines[-1].endswith("attached in full)"), message


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", [n for n, (kind, _) in CASES.items() if kind == DAMAGE])
def test_damage_is_not_compliant_and_carries_the_full_output(version, name):
    output = recorded(version, name)
    raised = failure("host motoko, job flux-borg", "borg list /srv/borg/flux", output, 2, Borg.ERRORS)
    assert isinstance(raised, RepositoryDamaged)
    assert isinstance(raised, RestoreFailed)
    assert not isinstance(raised, DrillCouldNotRun)
    assert raised.output == output
    assert str(raised).startswith("host motoko, job flux-borg: `borg list /srv/borg/flux` exited 2, ")
    assert "SSH_ORIGINAL_COMMAND" not in str(raised)
    assert "Platform:" not in str(raised)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", [n for n, (kind, _) in CASES.items() if kind == COULD_NOT_RUN])
def test_a_repository_borg_cannot_open_could_not_run(version, name):
    raised = failure("host motoko, job flux-borg", "borg list /srv/borg/flux", recorded(version, name), 2,
                     Borg.ERRORS)
    assert isinstance(raised, ToolCouldNotRun)
    assert not isinstance(raised, RestoreFailed)


class Answering:
    """A host whose borg prints ``output`` and exits ``status`` (the probe's collaborator)."""

    name = "motoko"

    def __init__(self, output: str, status: int) -> None:
        self.output, self.status, self.commands = output, status, []

    def with_credentials(self, words, job=None):
        return words

    def run(self, words, timeout=None):
        self.commands.append(words)
        return Result("motoko", " ".join(words), self.status, b"", self.output, 0.1)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_probe_lists_one_archive_and_a_damaged_repository_is_not_down(version):
    host = Answering(recorded(version, "deleted-manifest-segment.list-last"), 2)
    assert probe(host, Backend("borg repository", "/srv/borg/flux")) is None  # its scenarios judge it
    assert host.commands == [["borg", "list", "--last", "1", "--short", "--bypass-lock", "/srv/borg/flux"]]
    host = Answering(recorded(version, "wrong-passphrase.list-last"), 2)
    assert "wrong BORG_PASSPHRASE" in probe(host, Backend("borg repository", "/srv/borg/flux"))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failed_probe_quotes_the_line_that_names_the_problem_not_the_footer_or_table(version):
    for name in ("deleted-data-segment.info", "deleted-manifest-segment.list-last"):
        said = classify(recorded(version, name), 2, Borg.ERRORS)
        assert "segment file of the repository is missing" in said, said
        assert "SSH_ORIGINAL_COMMAND" not in said, said
        assert "Original size" not in said, said
    unknown = classify("Local Exception\nTraceback (most recent call last):\n  File \"x\", line 1\n"
                       "OSError: [Errno 5] Input/output error\n\nPlatform: Linux\n"
                       "SSH_ORIGINAL_COMMAND: None\n", 2, Borg.ERRORS)
    assert unknown == "failed the probe (exit 2: OSError: [Errno 5] Input/output error; " \
                      "(and 5 more line(s) of output))", unknown


def test_restics_indented_error_lines_are_kept():
    output = ("using temporary cache in /tmp/restic-check-cache\ncheck snapshots, trees and blobs\n"
              "error for tree 4bba301e:\n  id 4bba301e not found in repository\n"
              "Fatal: repository contains errors\n")
    assert judge(output, Restic.ERRORS) == judge("repository contains errors", Restic.ERRORS)
    assert named(output, Restic.ERRORS).splitlines()[:3] == ["error for tree 4bba301e:",
                                              "id 4bba301e not found in repository",
                                              "Fatal: repository contains errors"]


# borgmatic 1.9.14 on saito: an encryption_passcommand that fails (borgmatic runs it itself), and
# a repository the configuration does not name
BORGMATIC_PASSCOMMAND = """cat: /etc/borgmatic/gone: No such file or directory
/etc/borgmatic/config.yaml: /etc/borgmatic/config.yaml: Error getting local Borg version
/etc/borgmatic/config.yaml: Command '['cat', '/etc/borgmatic/gone']' returned non-zero exit status 1.
/etc/borgmatic/config.yaml: An error occurred

summary:
An error occurred
/etc/borgmatic/config.yaml: Error getting local Borg version
Command '['cat', '/etc/borgmatic/gone']' returned non-zero exit status 1.

Need some help? https://torsion.org/borgmatic/#issues
"""
BORGMATIC_NO_REPOSITORY = """Repository "/srv/borg/nope" not found in configuration files

summary:
Repository "/srv/borg/nope" not found in configuration files

Need some help? https://torsion.org/borgmatic/#issues
"""


def test_borgmatics_own_words_come_before_borgs_and_its_summary_is_noise():
    from backup_drills.adapters.borgmatic import Borgmatic

    failed = judge(BORGMATIC_PASSCOMMAND, Borgmatic.ERRORS)
    assert failed is not None
    assert failed.kind == COULD_NOT_RUN
    assert "passcommand" in failed.means
    message = named(BORGMATIC_PASSCOMMAND, Borgmatic.ERRORS)
    assert message.startswith("cat: /etc/borgmatic/gone: No such file or directory"), message
    assert not [line for line in message.splitlines() for noise in ("Need some help", "summary:",
                                                                    "An error occurred") if noise in line]
    said = classify(BORGMATIC_NO_REPOSITORY, 1, Borgmatic.ERRORS)
    assert "not in the job's borgmatic configuration" in said, said
    assert judge(recorded("borg-1.4", "flipped-byte.check"), Borgmatic.ERRORS) == \
        judge(recorded("borg-1.4", "flipped-byte.check"), Borg.ERRORS)  # borg's words, through borgmatic
    assert judge(BORGMATIC_PASSCOMMAND, Borg.ERRORS) is None  # borgmatic's words are its own
