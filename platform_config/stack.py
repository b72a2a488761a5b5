"""Read a stack's configuration: from the Pulumi runtime, or from ``Pulumi.<stack>.yaml``.

Both paths yield the same ``{key: value}`` mapping (keys without the project prefix), so the
offline renderer and ``pulumi up`` run the very same program on the very same input. The stack
file is read as the CLI reads it (``yaml_source``), keys without a namespace belong to the project
(as the CLI decides), and a key in any other namespace is refused rather than silently ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .loader import PROJECT, STACK_KEYS, ConfigError
from .paths import PROJECT_ROOT
from .rules import suggest
from .yaml_source import YamlProblem, load_yaml

SECURE_PLACEHOLDER = "<secure-value-from-stack-file>"
# Namespaces the engine itself may hand to a program; none of them configures it.
ENGINE_NAMESPACES = ("pulumi",)
# This program builds its providers explicitly from `micropay-platform:cluster`, so the default
# providers' config keys would be ignored: refuse them and name the key that works.
PROVIDER_NAMESPACES = {"kubernetes": "cluster", "random": None}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _namespace_problem(full_key: str, namespace: str) -> tuple[str, str]:
    if namespace in PROVIDER_NAMESPACES:
        replacement = PROVIDER_NAMESPACES[namespace]
        where = f"set `{PROJECT}:{replacement}` instead" if replacement else "remove it"
        return full_key, (f"this program configures its {namespace} provider itself, so `{namespace}:` keys "
                          f"would be ignored; {where} (`pulumi config rm {full_key}`)")
    return full_key, (f"unknown config namespace '{namespace}'; "
                      + suggest(namespace, [PROJECT], f"keys of this program are `{PROJECT}:<key>`")
                      + f" (`pulumi config rm {full_key}` and set it again under `{PROJECT}:`)")


def split_config(stack: str, flat: dict[str, Any],
                 encrypted: set[str]) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """Split ``namespace:key`` entries into structured settings and secret values, and name the
    secret values that were written in plain text (not in ``encrypted``, the full keys stored with
    ``pulumi config set --secret``)."""
    settings, secrets, plain, problems = {}, {}, set(), []
    for full_key, value in flat.items():
        namespace, _, key = full_key.partition(":")
        if namespace in ENGINE_NAMESPACES:
            continue
        if namespace != PROJECT:
            problems.append(_namespace_problem(full_key, namespace))
        elif key in STACK_KEYS or not isinstance(_decode(value), str):
            settings[key] = _decode(value)
        else:
            secrets[key] = value
            if full_key not in encrypted:
                plain.add(key)
    if problems:
        raise ConfigError(stack, problems)
    return settings, secrets, plain


def runtime_config(stack: str) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """The current stack's config, as the Pulumi engine handed it to the program."""
    from pulumi.runtime import config as runtime

    flat = {**runtime.get_config_env(), **runtime.CONFIG.get()}
    return split_config(stack, flat, {key for key in flat if runtime.is_config_secret(key)})


def stack_names(root: Path = PROJECT_ROOT) -> list[str]:
    """Every stack of the project: one ``Pulumi.<stack>.yaml`` each, sorted."""
    return sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in root.glob("Pulumi.*.yaml"))


def stack_file_config(stack: str, root: Path = PROJECT_ROOT) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """Read ``Pulumi.<stack>.yaml`` directly: settings, secrets (encrypted values become a
    placeholder) and the secrets written in plain text."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path.name}; stacks: {', '.join(stack_names(root))}")
    try:
        document = load_yaml(path.read_text()) or {}
    except YamlProblem as problem:
        where = f"{path.name}:{problem.line}" if problem.line else path.name
        raise ConfigError(stack, [(where, f"{problem.message}; {problem.fix}")]) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, (dict, type(None))) or not isinstance(document, dict):
        raise ConfigError(stack, [(f"{path.name}: config", f"expected a mapping of `{PROJECT}:<key>: <value>` "
                                   "entries; write each key on its own line under `config:`")])
    flat, encrypted = {}, set()
    for written_key, value in (config or {}).items():
        # The CLI puts a key written without a namespace into the project's (workspace/loaders.go).
        full_key = written_key if ":" in str(written_key) else f"{PROJECT}:{written_key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            flat[full_key] = SECURE_PLACEHOLDER
            encrypted.add(full_key)
        else:
            # As the engine hands them to the program: every value as text, structured values as JSON
            # with sorted keys (so dict order, e.g. of env maps, is the same offline and under the
            # engine), and numbers and booleans as JSON too, so `db-password: 12345` is a secret
            # value written in plain text, for both readers, not a setting.
            scalar_or_structured = isinstance(value, (dict, list, int, float, bool))
            flat[full_key] = json.dumps(value, sort_keys=True) if scalar_or_structured else value
    return split_config(stack, flat, encrypted)
