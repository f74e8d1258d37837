"""YAML read as an inventory must be: libyaml's parser, every duplicate key refused (YAML would
keep the last one and silently lose the first, a job with it), no control character in a key,
and the place each mapping and list came from, so an error names its line and column.

    >>> doc = read_yaml("name: t\\njobs:\\n  j1: {rpo: soon}\\n")
    >>> doc.data["jobs"]["j1"]["rpo"], doc.place(("jobs", "j1", "rpo"))
    ('soon', Place(line=3, column=13))
    >>> try:
    ...     read_yaml("jobs: {}\\njobs: {}\\n")
    ... except YamlProblem as problem:
    ...     print(problem)
    2:1: a second 'jobs:' section (the first is at line 1): ...
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# libyaml's parser and composer (C) with PyYAML's safe constructors (Python) where PyYAML was
# built with libyaml: ten times faster than the pure-Python loader on a large inventory
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
# newlines, tabs and every other C0/C1 control character, and Unicode's line separators
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Place(NamedTuple):
    """A line and column, both counted from 1 as editors do."""

    line: int
    column: int


class YamlProblem(ValueError):
    """Text that is not YAML, or YAML an inventory cannot mean; ``place`` is where."""

    def __init__(self, place: Place, message: str) -> None:
        super().__init__(f"{place.line}:{place.column}: {message}")
        self.place, self.message = place, message


def _place(mark: Any) -> Place:
    return Place(mark.line + 1, mark.column + 1)


_STR = "tag:yaml.org,2002:str"


class _Loader(_BASE):  # type: ignore[valid-type,misc]  # CSafeLoader is typed as SafeLoader
    """The safe loader, remembering the node of every mapping and list it builds. Strings, most
    of an inventory, take a short way through the safe loader's own rules (a fleet's file holds
    hundreds of thousands): the same values and tags, without its per-node bookkeeping."""

    # the first characters an implicit resolver reads (a plain scalar starting otherwise is a
    # string); no short way when a resolver reads every scalar or a path resolver is registered
    _RESOLVED_FIRST = frozenset(_BASE.yaml_implicit_resolvers)
    _SHORT = None not in _BASE.yaml_implicit_resolvers and not _BASE.yaml_path_resolvers

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nodes: dict[int, tuple[object, Node]] = {}
        self.root: Node | None = None
        self.checked: set[int] = set()

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # BaseResolver.resolve, shortened: a quoted scalar, or a plain one no implicit resolver
        # reads, is a string
        if (self._SHORT and kind is ScalarNode and value
                and (not implicit[0] or value[0] not in self._RESOLVED_FIRST)):
            return _STR
        return super().resolve(kind, value, implicit)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # a string scalar is its value (SafeConstructor.construct_yaml_str), built as is
        if node.__class__ is ScalarNode and node.tag == _STR:
            return node.value
        return super().construct_object(node, deep)

    def flatten_mapping(self, node: MappingNode) -> None:
        # the keys as written, before merge keys (<<: *base) bring in the ones they override
        if id(node) not in self.checked:
            self.checked.add(id(node))
            self._refuse_duplicates(node)
        super().flatten_mapping(node)

    def _refuse_duplicates(self, node: MappingNode) -> None:
        if _plain_keys(node):
            return
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node)  # cached: built once for the mapping
            if isinstance(key, str) and CONTROL.search(key):
                raise YamlProblem(_place(key_node.start_mark), "a key may not hold a newline or "
                                  f"any other control character, got {key!r}")
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: the constructor names it
                continue
            if first is key_node:
                continue
            line = first.start_mark.line + 1
            if node is self.root:
                raise YamlProblem(_place(key_node.start_mark), f"a second '{key}:' section (the first "
                                  f"is at line {line}): YAML would keep only this one and drop the "
                                  "first silently; merge them into one")
            raise YamlProblem(_place(key_node.start_mark), f"duplicate key {key!r} (first at line "
                              f"{line}, column {first.start_mark.column + 1}): YAML would keep only "
                              "the last one and drop the first silently")


def _plain_keys(node: MappingNode) -> bool:
    """String keys only (no merge key, no other type), each once, none with a control
    character: nothing to refuse, merge or hash-check (the common mapping)."""
    keys = [key.value for key, _ in node.value if key.__class__ is ScalarNode and key.tag == _STR]
    return len(keys) == len(node.value) == len(set(keys)) and not CONTROL.search("".join(keys))


def _mapping(loader: _Loader, node: MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    loader.nodes[id(data)] = (data, node)
    yield data
    if id(node) not in loader.checked and _plain_keys(node):  # construct_mapping, shortened
        loader.checked.add(id(node))
        construct = loader.construct_object
        data.update({key.value: construct(value) for key, value in node.value})
    else:
        data.update(loader.construct_mapping(node))


def _sequence(loader: _Loader, node: SequenceNode) -> Iterator[list[Any]]:
    data: list[Any] = []
    loader.nodes[id(data)] = (data, node)
    yield data
    data.extend(loader.construct_sequence(node))


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


class Document:
    """A YAML document's data, and where each of its keys, values and items was written."""

    def __init__(self, data: Any, root: Node | None, nodes: dict[int, tuple[object, Node]]) -> None:
        self.data, self._root, self._nodes = data, root, nodes

    def _node_of(self, value: object) -> Node | None:
        entry = self._nodes.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def place(self, loc: Sequence[str | int], key: bool = False) -> Place:
        """Where the value at ``loc`` (keys and list indexes) was written: a scalar value's own
        place, else its key's (``key=True``: always the key's). Where the path leaves the
        document (a key the loader added), the deepest place it reached."""
        here = _place(self._root.start_mark) if self._root is not None else Place(1, 1)
        value: Any = self.data
        for depth, part in enumerate(loc):
            node = self._node_of(value)
            last = depth == len(loc) - 1
            if isinstance(value, dict) and isinstance(node, MappingNode):
                part = _written_key(value, part)
                pairs = [(k, v) for k, v in node.value
                         if isinstance(k, ScalarNode) and k.value == str(part)]
                if not pairs or part not in value:
                    return here
                key_node, value_node = pairs[-1]
                at_value = last and not key and isinstance(value_node, ScalarNode)
                here = _place((value_node if at_value else key_node).start_mark)
                value = value[part]
            elif isinstance(value, list) and isinstance(node, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    return here
                here = _place(node.value[part].start_mark)
                value = value[part]
            else:
                return here
        return here


def _written_key(mapping: dict[Any, Any], key: str | int) -> str | int:
    """The key as the file wrote it: a job the Ansible expansion keyed ``name@host`` was
    written as ``name``."""
    if key not in mapping and isinstance(key, str) and "@" in key:
        return key.split("@", 1)[0]
    return key


def read_yaml(text: str) -> Document:
    """Parse one YAML document; raise YamlProblem (with line and column) for text that is not
    YAML, a duplicate key, or a key holding a control character."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        loader.root = root
        data = loader.construct_document(root) if root is not None else None
        return Document(data, root, loader.nodes)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise YamlProblem(_place(mark) if mark else Place(1, 1), f"not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:  # e.g. a byte libyaml cannot read
        raise YamlProblem(Place(1, 1), f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
