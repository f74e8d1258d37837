"""docs/inventory.schema.json and docs/inventory.md's reference are what the generator makes of
drills/inventory/schema.py today, every key is described, and the JSON Schema judges real
inventories as the loader does: the lab's and the bundled examples pass, a typo'd key, an unknown
kind and a duration without its unit fail."""

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from backup_drills.inventory.reference import DOCS, expected, json_schema, main

ROOT = Path(__file__).resolve().parents[2]


def test_generated_files_are_current() -> None:
    for path, text in expected().items():
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} differs from drills/inventory/schema.py: run "
            "python -m backup_drills.inventory.reference --write")


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    for name in ("inventory.md", "inventory.schema.json"):
        (tmp_path / name).write_text((DOCS / name).read_text())
    assert main(["--check", "--docs", str(tmp_path)]) == 0
    (tmp_path / "inventory.schema.json").write_text("{}\n")
    assert main(["--check", "--docs", str(tmp_path)]) == 1


def test_every_key_is_described() -> None:
    found = json_schema()
    bare = [f"{name}.{key}" for name, node in [("Inventory", found), *found["$defs"].items()]
            for key, prop in node.get("properties", {}).items() if not prop.get("description")]
    assert not bare, (f"keys without a description: {bare}; write a comment beside the key in "
                      "drills/inventory/schema.py (or a line in drills/inventory/reference.py NOTES)")


def test_descriptions_name_values_not_the_codes_constants() -> None:
    """A reader of docs/inventory.md has no schema.py: ``EXACT_SCRATCH`` is its path."""
    from backup_drills.inventory import schema

    constants = [name for name in vars(schema) if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+", name)]
    found = json_schema()
    named = [f"{name}.{key}: {constant}" for name, node in [("Inventory", found), *found["$defs"].items()]
             for key, prop in node.get("properties", {}).items() for constant in constants
             if re.search(rf"\b{constant}\b", prop.get("description", ""))]
    assert not named, named


def test_the_shipped_examples_say_how_a_wheel_drills_them() -> None:
    for example in ("inventory/example.yml", "inventory/example-ansible.yml"):
        text = (ROOT / example).read_text()
        assert "pytest features/" not in text, example  # a wheel has no features/ folder to name
    assert "backup-drills run --inventory" in (ROOT / "inventory/example.yml").read_text()


@pytest.mark.parametrize("file", ["inventory/lab.yml", "inventory/example.yml",
                                  "inventory/example-ansible.yml"])
def test_real_inventories_pass(file: str) -> None:
    document = yaml.safe_load((ROOT / file).read_text())
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(json_schema()).iter_errors(document)]
    assert not errors, errors


@pytest.mark.parametrize(("change", "where"), [
    (lambda job: job.update(rtoo="4h"), "rtoo"),
    (lambda job: job.update(kind="restik"), "restik"),
    (lambda job: job.update(rpo="26"), "26"),
])
def test_mistakes_fail(change, where) -> None:  # type: ignore[no-untyped-def]
    document = yaml.safe_load((ROOT / "inventory/example.yml").read_text())
    change(next(iter(document["jobs"].values())))
    messages = [e.message for e in Draft202012Validator(json_schema()).iter_errors(document)]
    assert any(where in message for message in messages), messages


def test_the_schema_is_valid_json_schema() -> None:
    Draft202012Validator.check_schema(json.loads((DOCS / "inventory.schema.json").read_text()))
