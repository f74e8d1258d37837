"""The masker: every form of a registered secret is masked wherever the drill writes text."""

import base64
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import yaml

from backup_drills.core import secrets
from backup_drills.core.secrets import MASK, Secret, forms, mask, mask_bytes, mask_tree, register
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Host

ROOT = Path(__file__).resolve().parents[2]
VALUE = 'pa"ss/wörd+x y\\z'  # quotes, a slash, non-ASCII, a plus, a space, a backslash


@pytest.fixture(autouse=True)
def nothing_registered():
    secrets.forget()
    yield
    secrets.forget()


def embedded_base64(value: str) -> list[str]:
    """``value`` inside longer base64 texts: at each alignment, with bytes after it or not, in
    both alphabets."""
    texts = []
    for before in (b"", b"x", b"xy", b"xyz"):
        for after in (b"", b"q", b"qr"):
            encoded = base64.b64encode(before + b'{"key": "' + value.encode() + b'"}' + after)
            texts += [encoded.decode(), base64.urlsafe_b64encode(base64.b64decode(encoded)).decode()]
    return texts


def test_every_form_of_a_registered_value_is_masked():
    register(VALUE)
    carried = [VALUE, json.dumps({"message": f"said {VALUE}"}), json.dumps(VALUE, ensure_ascii=False),
               quote(VALUE), quote(VALUE, safe=""), quote_plus(VALUE), f"https://h/?k={quote_plus(VALUE)}&x=1",
               repr(VALUE), repr(VALUE.encode()), *embedded_base64(VALUE)]
    for text in carried:
        masked = mask(f"before {text} after")
        assert MASK in masked, text
        assert not any(form in masked for form in forms(VALUE)), (text, masked)
    assert mask_bytes(f"out: {VALUE}\n".encode()) == f"out: {MASK}\n".encode()
    assert mask("nothing secret here") == "nothing secret here"


def test_values_shorter_than_the_minimum_are_not_masked_and_registering_twice_is_one():
    register("abcde")
    assert not secrets.active()
    assert mask("abcde stays") == "abcde stays"
    register("abcdef")
    register(Secret("abcdef"))
    assert mask("abcdef goes") == f"{MASK} goes"
    assert len(secrets._VALUES) == 1


def test_a_secret_shows_as_the_mask_and_gives_its_value_only_when_asked():
    secret = register(VALUE)
    assert (repr(secret), str(secret), f"{secret:>20}", f"{[secret]}") == (
        f"Secret({MASK})", MASK, MASK, f"[Secret({MASK})]")
    assert secret.reveal() == VALUE
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(secret)


def test_log_records_are_masked_whichever_logger_and_handler(caplog):
    secrets.mask_log_records()
    register(VALUE)
    with caplog.at_level(logging.INFO):
        logging.getLogger("botocore.anything").info("header %s sent", VALUE)
        logging.getLogger("backup_drills.drill").info("plain %s", quote_plus(VALUE))
    assert [record.getMessage() for record in caplog.records] == [f"header {MASK} sent", f"plain {MASK}"]


def test_text_files_are_masked_in_place_and_binary_ones_left(tmp_path):
    register(VALUE)
    (tmp_path / "sub").mkdir()
    result, png = tmp_path / "sub/x-result.json", tmp_path / "trend.png"
    result.write_text(json.dumps({"statusDetails": {"message": VALUE}}))
    png.write_bytes(b"\x89PNG\r\n\x1a\n\xff" + VALUE.encode())
    (tmp_path / "clean.txt").write_text("nothing")
    assert mask_tree(tmp_path) == [result]
    assert json.loads(result.read_text()) == {"statusDetails": {"message": MASK}}
    assert png.read_bytes().endswith(VALUE.encode())


def test_a_runner_credential_a_command_prints_back_is_masked_in_every_form(monkeypatch):
    monkeypatch.setenv("DRILL_TEST_SECRET", VALUE)
    remote = Remote(Host(name="runner", transport="local://", credentials_from_env=("DRILL_TEST_SECRET",)))
    script = remote.with_credentials(["sh", "-c", 'printf "%s|" "$DRILL_TEST_SECRET"; '
                                                  'printf "%s" "$DRILL_TEST_SECRET" | base64 -w0'])
    result = remote.run(script)
    assert result.ok, result.stderr
    # registered by the run itself; of the base64 form, at most the 2 characters (and padding)
    # that also encode what follows the value are left
    assert result.text.startswith(f"{MASK}|{MASK}")
    assert len(result.text) <= len(f"{MASK}|{MASK}") + 3


def test_a_traceback_with_locals_shows_no_auditor_key(tmp_path):
    """A drill whose object store botocore refuses fails with a traceback through boto3, whose
    locals hold the auditor key read from the store's env file: ``-l`` shows it masked."""
    key_id, key = "AKIDRILLUNITTEST01", "unit-test-auditor-key/with+chars=="
    env_file = tmp_path / "auditor.env"
    env_file.write_text(f"DRILL_LAB_AUDITOR_ACCESS_KEY_ID={key_id}\nDRILL_LAB_AUDITOR_SECRET_ACCESS_KEY='{key}'\n")
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["object_stores"]["lab"].update(env_file=str(env_file), region="no such region!")
    for host in doc["hosts"].values():
        host.update(transport="ssh://drill@127.0.0.1:1", ssh_config=None, ssh_identity_file=None)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(doc))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", f"--inventory={inventory}",
         f"--alluredir={tmp_path / 'allure'}", f"--evidence-dir={tmp_path / 'evidence'}",
         f"--junitxml={tmp_path / 'junit.xml'}", "-k", "flux-backup and bucket_keeps_object_versions", "-l",
         "--full-trace"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    shown = run.stdout + run.stderr
    assert "InvalidRegionError" in shown, shown[-3000:]
    assert f"aws_secret_access_key = '{MASK}'" in shown, shown[-3000:]  # the local, masked
    written = {str(p): p.read_text(errors="replace") for p in tmp_path.rglob("*")
               if p.is_file() and p != env_file}
    leaks = [(where, form) for where, text in {"output": shown, **written}.items()
             for value in (key_id, key) for form in forms(value) if form in text]
    assert leaks == []


FAILING_TEST = '''
from backup_drills.core.secrets import register

register("test-phase-secret-value")


def test_fails_holding_a_secret():
    password = "test-phase-secret-value"
    print("printed:", password)
    assert password == "something else"
'''


def test_a_failing_tests_locals_output_and_junit_show_no_secret(tmp_path):
    """Whatever a test report carries (its ``-l`` traceback, its captured output) is masked
    before the terminal and JUnit (and the Allure listener) read it."""
    (tmp_path / "test_holder.py").write_text(FAILING_TEST)
    run = subprocess.run([sys.executable, "-m", "pytest", "test_holder.py", "-p", "no:cacheprovider", "-l",
                          "-rA", f"--junitxml={tmp_path / 'junit.xml'}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout
    assert f"password   = '{MASK}'" in run.stdout, run.stdout
    assert f"printed: {MASK}" in run.stdout, run.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert f"password   = &apos;{MASK}&apos;" in junit or f"password   = '{MASK}'" in junit, junit
    assert "test-phase-secret-value" not in run.stdout + run.stderr + junit
