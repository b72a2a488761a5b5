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


def load_yaml(text: str) -> Any:
    """Parse one document, or raise YamlProblem naming the line and the fix."""
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(filter(None, (error.context, error.problem)))
        raise YamlProblem(line, f"not valid YAML ({problem})", _fix_for(text, line)) from None
    except yaml.YAMLError as error:
        raise YamlProblem(None, f"not valid YAML ({error})", _fix_for(text, None)) from None
