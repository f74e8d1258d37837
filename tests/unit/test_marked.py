"""drills/inventory/marked.py reads what PyYAML's safe loader reads: its short way for strings
(a quoted or plainly textual scalar resolved and built without the loader's bookkeeping, keys
checked for duplicates at once) changes no value, no type and no refusal."""

import pytest
import yaml

from backup_drills.inventory.marked import YamlProblem, read_yaml

# every kind of scalar an implicit resolver reads, next to strings that start like one
DOCUMENT = """\
name: fleet
plain: text, with a comma - and #no comment
quoted: 'yes'
double: "0o17"
empty_plain:
empty_quoted: ''
tilde: ~
null_word: null
nope: No
on_word: on
tf: [true, False, TRUE, t, f, y, n]
ints: [0, -1, +2, 0x1F, 0o17, 1_000, 12:30:00, 0b11]
floats: [1.5, -.inf, .NaN, 6.8523015e+5, .5]
dates: [2024-01-02, 2024-01-02T03:04:05Z]
words: [tomorrow, never, o-ring, Yankee, nothing, frozen, ~tilde, "=", .hidden, -dash, +plus]
keys: {1: one, 1.5: float, false: no, null: none, '2': two, 'false': word}
base: &base {rpo: 26h, kind: restic, tags: [a, b]}
merged: {<<: *base, rpo: 2h}
alias: *base
text: !!str 123
number: !!int "7"
binary: !!binary aGVsbG8=
"naïve café – notes": unicode
block: |
  two
  lines
"""


def test_the_data_is_the_safe_loaders_in_value_and_type():
    ours, theirs = read_yaml(DOCUMENT).data, yaml.safe_load(DOCUMENT)
    assert ours == theirs
    assert repr(ours) == repr(theirs)  # types too: 1 is not 1.0 nor True, '1' not 1
    assert ours["merged"] == {"rpo": "2h", "kind": "restic", "tags": ["a", "b"]}
    assert ours["alias"] is ours["base"]


@pytest.mark.parametrize(("text", "expected"), [
    ("jobs:\n  j1: {}\n  j1: {}\n", "3:3: duplicate key 'j1' (first at line 2, column 3)"),
    ("jobs:\n  j1: {}\n  'j1': {}\n", "3:3: duplicate key 'j1' (first at line 2, column 3)"),
    ("a: {1: x, '1': y, 1: z}\n", "1:19: duplicate key 1 (first at line 1, column 5)"),
    ("a: 1\nb: 2\na: 3\n", "3:1: a second 'a:' section (the first is at line 1)"),
    ('jobs:\n  "j\\n1": {}\n', "2:3: a key may not hold a newline or any other control character"),
    ('jobs:\n  "j\\u2028": {}\n', "2:3: a key may not hold a newline or any other control character"),
])
def test_duplicate_and_control_character_keys_are_still_refused_where_written(text, expected):
    with pytest.raises(YamlProblem) as refused:
        read_yaml(text)
    assert str(refused.value).startswith(expected)


def test_keys_that_differ_only_by_type_are_two_keys_and_equal_ones_one_as_for_python():
    text = "a: {1: int, '1': str, true: bool, 'true': word}\n"
    with pytest.raises(YamlProblem, match="duplicate key True"):  # True == 1: the same key
        read_yaml(text)
    text = "a: {2: int, '2': str, true: bool, 'true': word}\n"
    assert read_yaml(text).data == yaml.safe_load(text)
