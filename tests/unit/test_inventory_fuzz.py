"""Thousands of generated bad inventories: the loader answers each with one InventoryError
naming the file, never a traceback."""

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backup_drills.inventory.schema import Inventory, InventoryError, load_inventory

ROOT = Path(__file__).resolve().parents[2]
LAB = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
# libyaml's emitter writes the generated documents (the same YAML): PyYAML's pure-Python one took
# more than half of this test's time, the loader under test less than a fifth
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dumped(doc: object) -> str:
    return yaml.dump(doc, Dumper=DUMPER, allow_unicode=True)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20), st.dates()
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


def paths(doc, prefix=()):
    """Every key path in a nested document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))


LAB_PATHS = list(paths(LAB))


@st.composite
def mutated_lab(draw):
    """The lab inventory with one key removed, replaced by junk, or a junk key added."""
    doc = copy.deepcopy(LAB)
    path = draw(st.sampled_from(LAB_PATHS))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["delete", "replace", "add"]))
    if action == "delete":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = draw(documents)
    else:
        parent[draw(st.text(min_size=1, max_size=8))] = draw(documents)
    return dumped(doc)


texts = st.one_of(
    mutated_lab(),
    documents.map(dumped),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=texts)
def test_no_input_gets_a_traceback(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "inventory.yml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    outcome: Inventory | InventoryError
    try:
        outcome = load_inventory(path)
    except InventoryError as exc:
        outcome = exc
    if isinstance(outcome, InventoryError):
        assert str(outcome).startswith(f"{path}:")
    else:
        assert isinstance(outcome, Inventory)
