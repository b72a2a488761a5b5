"""The project's YAML files (stack files, catalogs), read strictly and the way the Pulumi CLI reads them.

The CLI parses stack files with a YAML 1.2 parser (gopkg.in/yaml.v3): a key written twice is an error,
and only ``true``/``false`` are booleans, so ``no``, ``on`` and ``yes`` stay strings. PyYAML follows
YAML 1.1, where ``no`` is False and a repeated key silently keeps the last value: the offline renderer
and ``pulumi up`` would read one file two ways, and a review would show something else than what is
deployed. This loader reads every project file the CLI's way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it: the catalogs of large platforms parse ~10x faster.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_KEY = "<<"


class YamlProblem(Exception):
    """A file that cannot be read: where (1-based line, if known), what, and the fix."""

    def __init__(self, line: int | None, message: str, fix: str):
        super().__init__(line, message, fix)
        self.line, self.message, self.fix = line, message, fix

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}; {self.fix}"


class StrictLoader(_BASE_LOADER):
    """Safe loading, YAML 1.2 booleans, and no key written twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        first_seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == _MERGE_KEY:
                continue
            identity = (key_node.tag, key_node.value)
            line = key_node.start_mark.line + 1
            if identity in first_seen:
                raise YamlProblem(line, f"key '{key_node.value}' is written twice in one mapping (first at line "
                                  f"{first_seen[identity]}), and only one of them would count",
                                  "merge the two entries into one")
            first_seen[identity] = line
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in _BASE_LOADER.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _fix_for(text: str, line: int | None) -> str:
    lines = text.splitlines()
    written = lines[line - 1] if line and line <= len(lines) else ""
    if "\t" in written[:len(written) - len(written.lstrip())]:
        return "indent with spaces: YAML does not allow tabs for indentation"
    return "correct the YAML syntax there (a missing ':' or space, an unclosed quote or bracket, uneven indentation)"


# Far beyond any real file (a 5,000-service catalog holds about 100,000 values, 8 levels deep) and far below
# what exhausts memory, or Python's recursion when the document is merged, validated or written as JSON.
MAX_VALUES = 1_000_000
MAX_DEPTH = 64


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return node.value


def _check_shape(root: yaml.Node) -> None:
    """Refuse what the parser reads cheaply but the program could not: aliases that expand the document past
    MAX_VALUES (a "billion laughs"), an alias inside the value it names (it never ends), nesting past
    MAX_DEPTH. Each would otherwise exhaust memory or end in a RecursionError traceback. Only mappings and
    sequences are walked (a scalar counts one), so a large catalog costs little."""
    if isinstance(root, yaml.ScalarNode):
        return
    expanded: dict[int, int] = {}
    in_progress: set[int] = set()
    pending: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while pending:
        node, depth, finished = pending.pop()
        if finished:
            in_progress.discard(id(node))
            size = expanded[id(node)] = 1 + sum(expanded.get(id(child), 1) for child in _children(node))
            if size > MAX_VALUES:
                raise YamlProblem(node.start_mark.line + 1, f"aliases expand this value to more than "
                                  f"{MAX_VALUES:,} values", "write the values out, or nest fewer aliases")
        elif id(node) in in_progress:
            raise YamlProblem(node.start_mark.line + 1, "an alias names the value that contains it, so the value "
                              "never ends", "write the value out without the alias")
        elif id(node) not in expanded:
            if depth > MAX_DEPTH:
                raise YamlProblem(node.start_mark.line + 1, f"values nest more than {MAX_DEPTH} levels deep",
                                  "flatten the structure")
            in_progress.add(id(node))
            pending.append((node, depth, True))
            pending += [(child, depth + 1, False) for child in _children(node)
                        if not isinstance(child, yaml.ScalarNode) and id(child) not in expanded]


def load_yaml(text: str) -> Any:
    """Parse one document, or raise YamlProblem naming the line and the fix."""
    try:
        loader = StrictLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _check_shape(root)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(filter(None, (error.context, error.problem)))
        raise YamlProblem(line, f"not valid YAML ({problem})", _fix_for(text, line)) from None
    except yaml.YAMLError as error:
        raise YamlProblem(None, f"not valid YAML ({error})", _fix_for(text, None)) from None
