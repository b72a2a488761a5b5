"""Read a stack's configuration: from the Pulumi runtime, or from ``Pulumi.<stack>.yaml``.

Both paths yield the same ``{key: value}`` mapping (keys without the project prefix), so the
offline renderer and ``pulumi up`` run the very same program on the very same input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .loader import PROJECT, PROJECT_ROOT, STACK_KEYS, YAML_LOADER

SECURE_PLACEHOLDER = "<secure-value-from-stack-file>"


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def split_config(flat: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Split ``project:key`` entries into structured settings and secret values."""
    settings, secrets = {}, {}
    for full_key, value in flat.items():
        project, _, key = full_key.partition(":")
        if project != PROJECT:
            continue
        if key in STACK_KEYS or not isinstance(_decode(value), str):
            settings[key] = _decode(value)
        else:
            secrets[key] = value
    return settings, secrets


def runtime_config() -> tuple[dict[str, Any], dict[str, str]]:
    """The current stack's config, as the Pulumi engine handed it to the program."""
    from pulumi.runtime import config as runtime

    flat = {**runtime.get_config_env(), **runtime.CONFIG.get()}
    return split_config(flat)


def stack_file_config(stack: str, root: Path = PROJECT_ROOT) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    """Read ``Pulumi.<stack>.yaml`` directly. Encrypted values become a placeholder."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                       for p in root.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack file {path.name}; stacks: {', '.join(known)}")
    document = yaml.load(path.read_text(), Loader=YAML_LOADER) or {}
    flat, secure_keys = {}, set()
    for full_key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            flat[full_key] = SECURE_PLACEHOLDER
            secure_keys.add(full_key)
        else:
            # As the engine hands them to the program: structured values as JSON with sorted keys
            # (so dict order, e.g. of env maps, is the same offline and under the engine).
            flat[full_key] = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
    settings, secrets = split_config(flat)
    return settings, secrets, secure_keys
