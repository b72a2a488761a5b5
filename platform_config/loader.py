"""Turn a stack's raw configuration into a validated ``PlatformConfig``.

A stack's config names a catalog file (the services of one system) and overrides it:
``defaults`` apply to every service, ``services.<name>`` to one. Layers, lowest first:
model defaults < catalog ``defaults`` < catalog ``services.<name>`` < stack ``defaults`` <
stack ``services.<name>``. Dicts merge key by key; lists and scalars replace; ``null``
clears an inherited value (e.g. ``ingress: null``).
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ValidationError

from .merge import deep_merge
from .paths import PROJECT_ROOT
from .models import PlatformConfig, ServiceSpec
from .rules import Problem, config_problems, reference_problems, service_problems, suggest
from .yaml_source import YamlProblem, load_yaml

PROJECT = "micropay-platform"
STACK_KEYS = ("catalog", "platform", "cluster", "defaults", "services", "namespaces", "endpoints", "peers")
CATALOG_KEYS = ("namespaces", "endpoints", "peers", "defaults", "services")
# Compared with the value's letters and digits only, lower-cased: REPLACE_ME, <password> and "change me" all match.
PLACEHOLDER_SECRETS = {"changeme", "changeit", "replaceme", "todo", "tbd", "fixme", "placeholder", "example",
                       "yoursecurepassword", "secret", "password", "dummy", "none", "null", "xxx", "xxxx", "xxxxxxxx"}


class ConfigError(Exception):
    """Bad stack configuration: the message names the stack, the key and the fix."""

    def __init__(self, stack: str, problems: list[tuple[str, str]]):
        self.stack = stack
        self.problems = problems
        lines = [f"stack '{stack}': invalid configuration ({len(problems)} problem{'s' * (len(problems) > 1)})"]
        lines += [f"  - {key}: {message}" for key, message in problems]
        super().__init__("\n".join(lines))


def _unknown_keys(stack: str, where: str, data: dict, allowed: tuple[str, ...]) -> None:
    problems = []
    for key in data:
        if key not in allowed:
            problems.append((f"{where}{key}", "unknown key; "
                             + suggest(key, allowed, f"allowed keys: {', '.join(allowed)}")))
    if problems:
        raise ConfigError(stack, problems)


def _load_catalog(stack: str, reference: Any, root: Path) -> dict:
    key = f"{PROJECT}:catalog"
    if not isinstance(reference, str) or not reference.strip():
        raise ConfigError(stack, [(key, f"expected a file path such as catalogs/micropay.yaml (got {reference!r})")])
    path = (root / reference).resolve()
    if not path.is_relative_to(root.resolve()):
        # The catalog decides what is deployed: it is reviewed and versioned with the stack, so it
        # must live in this repository.
        raise ConfigError(stack, [(key, f"'{reference}' is outside the project; keep the catalog in this "
                                   "repository, e.g. catalogs/<system>.yaml")])
    if path.is_dir():
        raise ConfigError(stack, [(key, f"'{reference}' is a directory; name the catalog file in it, e.g. "
                                   f"{Path(reference) / 'micropay.yaml'}")])
    if not path.is_file():
        raise ConfigError(stack, [(key, f"catalog file '{reference}' not found; "
                                   f"name a file under catalogs/, e.g. catalogs/micropay.yaml")])
    try:
        catalog = load_yaml(path.read_text()) or {}
    except YamlProblem as problem:
        where = f"{reference}:{problem.line}" if problem.line else reference
        raise ConfigError(stack, [(where, f"{problem.message}; {problem.fix}")]) from None
    if not isinstance(catalog, dict):
        raise ConfigError(stack, [(key, f"{reference} must hold a mapping with services, namespaces, ...")])
    # Named as the layers name a catalog's keys: the file, then the key path in it.
    _unknown_keys(stack, f"{reference}: ", catalog, CATALOG_KEYS)
    if not catalog.get("services"):
        # An empty catalog would make `pulumi up` delete every workload the stack has.
        raise ConfigError(stack, [(f"{reference}: services", "the catalog declares no services, so the "
                                   "stack would delete every workload it deployed; add services, or run "
                                   "`pulumi destroy` if removing everything is what you want")])
    return catalog


def _mapping(stack: str, key: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(stack, [(key, f"expected a mapping, got {type(value).__name__}")])
    return value


def _has_dotted(document: Any, dotted: str) -> bool:
    """Whether `document` holds a dotted key path, whose keys may hold dots themselves (label and file names)."""
    if not dotted:
        return True
    if isinstance(document, dict):
        return any(_has_dotted(value, dotted[len(str(key)) + 1:]) for key, value in document.items()
                   if dotted == str(key) or dotted.startswith(f"{key}."))
    if isinstance(document, list):
        index, _, rest = dotted.partition(".")
        return index.isdigit() and int(index) < len(document) and _has_dotted(document[int(index)], rest)
    return False


def _has_path(document: Any, path: tuple) -> bool:
    for part in path:
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and isinstance(part, int) and part < len(document):
            document = document[part]
        else:
            return False
    return True


@dataclass(frozen=True)
class ServiceLayers:
    """The documents a service's settings are merged from, to name a key where it was written."""

    catalog: str
    stack_services: dict
    stack_defaults: dict
    catalog_services: dict
    catalog_defaults: dict

    def _layers(self, name: str) -> tuple[tuple[str, Any], ...]:
        """Where a service's settings may be written, highest layer first."""
        return ((f"services.{name}", self.stack_services.get(name)), ("defaults", self.stack_defaults),
                (f"{self.catalog}: services.{name}", self.catalog_services.get(name)),
                (f"{self.catalog}: defaults", self.catalog_defaults))

    def written_key(self, location: tuple) -> str:
        """`services.X.k` (stack), `defaults.k` (stack), or the catalog file and its key path: the
        highest layer that sets the key, so a mistake in `defaults` is one problem, not one per service."""
        dotted = ".".join(str(part) for part in location)
        if len(location) < 3 or location[0] != "services":
            return dotted
        for where, layer in self._layers(location[1]):
            if _has_path(layer, location[2:]):
                return ".".join([where, *(str(part) for part in location[2:])])
        return dotted

    def written_problem_key(self, key: str) -> str:
        """written_key for a rule's dotted key path (`services.<name>.labels.app.kubernetes.io/name`)."""
        name, _, rest = key.removeprefix("services.").partition(".")
        if not key.startswith("services.") or not rest:
            return key
        return next((f"{where}.{rest}" for where, layer in self._layers(name) if _has_dotted(layer, rest)), key)


def _check_render_directory(stack: str, cluster: Any, root: Path) -> None:
    """The engine's render mode writes every object there (replacing what the directory held): only inside
    the project, where `make render` and the tests look, never over another system's files."""
    directory = cluster.get("renderDirectory") if isinstance(cluster, dict) else None
    if isinstance(directory, str) and not (root / directory).resolve().is_relative_to(root.resolve()):
        raise ConfigError(stack, [("cluster.renderDirectory", f"'{directory}' is outside the project, and the engine "
                                   "writes every rendered object there; keep it under build/, e.g. "
                                   f"build/pulumi-render/{stack}")])


def merge_layers(stack: str, raw: dict[str, Any], root: Path = PROJECT_ROOT) -> tuple[dict, ServiceLayers]:
    """Merge the catalog and the stack overrides into one document for PlatformConfig."""
    _unknown_keys(stack, f"{PROJECT}:", raw, STACK_KEYS)
    if "catalog" not in raw:
        raise ConfigError(stack, [(f"{PROJECT}:catalog", "missing; set it with "
                                   "`pulumi config set catalog catalogs/micropay.yaml`")])
    _check_render_directory(stack, raw.get("cluster"), root)
    catalog = _load_catalog(stack, raw["catalog"], root)
    catalog_services = _mapping(stack, f"{raw['catalog']}: services", catalog.get("services"))
    stack_services = _mapping(stack, f"{PROJECT}:services", raw.get("services"))
    for name in stack_services:
        if name not in catalog_services:
            hint = suggest(name, catalog_services, "add the service to the catalog first")
            raise ConfigError(stack, [(f"services.{name}", f"not a service of catalog {raw['catalog']}; {hint}")])
    catalog_defaults = _mapping(stack, f"{raw['catalog']}: defaults", catalog.get("defaults"))
    stack_defaults = _mapping(stack, f"{PROJECT}:defaults", raw.get("defaults"))
    services = {}
    for name, spec in catalog_services.items():
        layered = deep_merge(catalog_defaults, _mapping(stack, f"services.{name}", spec))
        layered = deep_merge(layered, stack_defaults)
        services[name] = deep_merge(layered, _mapping(stack, f"services.{name}", stack_services.get(name)))
    document = {
        "stack": stack,
        "platform": raw.get("platform"),
        "cluster": raw.get("cluster") or {},
        **{section: deep_merge(_mapping(stack, f"{raw['catalog']}: {section}", catalog.get(section)),
                               _mapping(stack, f"{PROJECT}:{section}", raw.get(section)))
           for section in ("namespaces", "endpoints", "peers")},
        "services": services,
    }
    _substitute_placeholders(stack, document)
    return document, ServiceLayers(raw["catalog"], stack_services, stack_defaults, catalog_services, catalog_defaults)


PLACEHOLDER = re.compile(r"\$\{(?:(?P<kind>address|host):(?P<target>[a-z0-9-]+)|(?P<word>environment))\}")
# What looks like one of ours but is not (`${adress:kafka}`, `${enviroment}`, `${host:kafka` unclosed): left as
# written, it would reach the container. Upper-case `${DB_HOST}` belongs to the application (Spring, shells).
NEAR_PLACEHOLDER = re.compile(r"\$\{(?P<word>[a-z]+)(?P<colon>:)?")


def _near_placeholders(text: str) -> Iterator[str]:
    """The text of each almost-placeholder in `text` (up to its '}' or the end of the word after it)."""
    for found in NEAR_PLACEHOLDER.finditer(text):
        if PLACEHOLDER.match(text, found.start()):
            continue
        kinds = ("address", "host") if found.group("colon") else ("environment",)
        if found.group("word") in kinds or difflib.get_close_matches(found.group("word"), kinds, n=1):
            yield re.match(r"\$\{[^}\s]*\}?", text[found.start():]).group(0)


def _substitute_placeholders(stack: str, document: dict) -> None:
    """Fill ${environment}, ${address:NAME} and ${host:NAME} in env, configFiles and configData
    (the service's and its sidecars' and init containers')."""
    services, endpoints = document["services"], document["endpoints"]
    # The models refuse a platform that is not a mapping afterwards, with its key.
    platform = document.get("platform")
    environment = platform.get("environment", "") if isinstance(platform, dict) else ""

    def address(name: str) -> tuple[str, int] | None:
        if name in services and isinstance(services[name], dict):
            spec = services[name]
            port = spec.get("servicePort") or spec.get("port")
            return f"{name}.{spec.get('namespace')}.svc.cluster.local", port
        if name in endpoints and isinstance(endpoints[name], dict):
            endpoint = endpoints[name]
            host = endpoint.get("host") or f"{name}.{endpoint.get('namespace')}.svc.cluster.local"
            return host, endpoint.get("port")
        return None

    def sections(service_name: str, spec: dict):
        """(key path, mapping) of every place placeholders may appear in one service."""
        for section in ("env", "configFiles", "configData"):
            yield f"services.{service_name}.{section}", spec.get(section)
        for group in ("sidecars", "initContainers"):
            for index, helper in enumerate(spec.get(group) or []):
                if isinstance(helper, dict):
                    for section in ("env", "configFiles"):
                        yield f"services.{service_name}.{group}.{index}.{section}", helper.get(section)

    problems = []
    for service_name, spec in services.items():
        if not isinstance(spec, dict):
            continue
        for path, values in sections(service_name, spec):
            if not isinstance(values, dict):
                continue
            for key, text in values.items():
                if not isinstance(text, str):
                    continue
                problems += [(f"{path}.{key}", f"{written} is not a placeholder this program fills, so it would reach "
                              "the container as written; write ${environment}, ${address:NAME} or ${host:NAME} (NAME: "
                              "a service or endpoint, lower-case)") for written in _near_placeholders(text)]

                def fill(match: re.Match, where=f"{path}.{key}") -> str:
                    if match.group("word"):
                        return environment
                    found = address(match.group("target"))
                    if found is None:
                        problems.append((where, f"{match.group(0)} names no service or endpoint; "
                                         + suggest(match.group("target"), [*services, *endpoints],
                                                   "declare it first")))
                        return match.group(0)
                    host, port = found
                    return host if match.group("kind") == "host" else f"{host}:{port}"

                values[key] = PLACEHOLDER.sub(fill, text)
    if problems:
        raise ConfigError(stack, problems)


def _field_for(model: type[BaseModel], key: str):
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field.annotation
    return None


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for argument in typing.get_args(annotation):
        found += _models_in(argument)
    return found


def _known_keys(location: tuple) -> list[str]:
    """The keys allowed at a location of PlatformConfig, for 'did you mean' hints."""
    candidates: list = [PlatformConfig]
    for part in location[:-1]:
        following = []
        for model in candidates:
            annotation = _field_for(model, str(part))
            if annotation is not None:
                following += _models_in(annotation)
        if not following:
            # A dict key (service name) or list index: stay on the container's value models.
            following = candidates
        candidates = following
    keys = []
    for model in candidates:
        keys += [field.alias or name for name, field in model.model_fields.items()]
    return keys


# Keys that became another one: the refusal says where the value goes now.
REPLACED_KEYS = {("observability", "serviceMonitor", "path"): (
    "observability.metricsPath", "one path serves the pods' prometheus.io/path annotation and the ServiceMonitor")}


def _describe(error: dict, layers: ServiceLayers) -> tuple[str, str]:
    location = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
    key = layers.written_key(location) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    # A secret's value is never shown, not even in a message about its type (`value: 12345`).
    secret = "secrets" in location[2:]
    got = "" if secret else f" (got {error.get('input')!r})"
    replaced = next((new for old, new in REPLACED_KEYS.items() if tuple(location[-len(old):]) == old), None)
    if error["type"] == "extra_forbidden" and replaced:
        message = f"replaced by {replaced[0]} ({replaced[1]}); move the value to {replaced[0]}"
    elif error["type"] == "extra_forbidden":
        message = "unknown key; " + suggest(str(location[-1]), _known_keys(location), "remove it")
    elif error["type"] == "missing":
        message = "required key is missing; add it to the catalog or the stack config"
    elif error["type"] == "string_type" and isinstance(error.get("input"), (int, float)):
        number = "" if secret else f" (got the number {error['input']!r})"
        message = f"{message}{number}: YAML reads an unquoted 1.10 as the number 1.1; write the value in quotes"
    elif error["type"] in ("literal_error", "int_parsing", "int_type", "bool_parsing", "string_type", "dict_type",
                           "list_type"):
        message = f"{message}{got}"
    return key, message


def _refuse(stack: str, problems: list[Problem], layers: ServiceLayers) -> None:
    if problems:
        # dict.fromkeys: one problem once, however many services inherit it.
        raise ConfigError(stack, list(dict.fromkeys((layers.written_problem_key(problem.key),
                                                      f"{problem.message}; {problem.fix}") for problem in problems)))


def _parsed(stack: str, raw: dict[str, Any], root: Path) -> tuple[PlatformConfig, ServiceLayers]:
    document, layers = merge_layers(stack, raw, root)
    try:
        config = PlatformConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigError(stack, list(dict.fromkeys(_describe(item, layers) for item in error.errors()))) from None
    # A service's contradictory settings are checked with the references: checked_config's rules, the
    # capacity check and the release plan read a canary's pods (canary_spec) and each track's budget.
    _refuse(stack, reference_problems(config) + service_problems(config), layers)
    return config, layers


def load_platform_config(stack: str, raw: dict[str, Any], root: Path = PROJECT_ROOT) -> PlatformConfig:
    """The validated config, its references and each service's settings checked; checked_config also
    applies the rules."""
    return _parsed(stack, raw, root)[0]


def checked_config(stack: str, raw: dict[str, Any], root: Path = PROJECT_ROOT) -> PlatformConfig:
    """The validated config with every rule of rules.py applied, each problem named where it was written."""
    config, layers = _parsed(stack, raw, root)
    _refuse(stack, config_problems(config), layers)
    return config


def provided_secret_keys(config: PlatformConfig) -> dict[str, str]:
    """configKey -> 'service/secret/key' for every secret value the stack must supply."""
    wanted = {}
    for service_name, service in config.services.items():
        for secret in service.secrets:
            for key_name, key in secret.keys.items():
                if secret.source_of(key, config.platform.secret_source) == "provided":
                    config_key = key.stack_key(service_name, key_name)
                    wanted[config_key] = f"services.{service_name}.secrets[{secret.secret_name(service_name)}].{key_name}"
    return wanted


def check_provided_secrets(config: PlatformConfig, values: dict[str, str | None],
                           plain: frozenset[str] = frozenset()) -> None:
    """Refuse unset, placeholder or plain-text secrets before anything is registered. Values are never echoed."""
    problems = []
    for config_key, owner in provided_secret_keys(config).items():
        value = values.get(config_key)
        if value is None or value == "":
            problems.append((f"{PROJECT}:{config_key}",
                             f"required secret for {owner} is not set; run "
                             f"`pulumi config set --secret {config_key} <value>` on stack '{config.stack}'"))
        elif config_key in plain:
            problems.append((f"{PROJECT}:{config_key}",
                             f"secret for {owner} is written in plain text in Pulumi.{config.stack}.yaml; store it "
                             f"encrypted with `pulumi config set --secret {config_key} <value>`"))
        elif not value.strip() or re.sub(r"[^a-z0-9]", "", value.lower()) in PLACEHOLDER_SECRETS:
            problems.append((f"{PROJECT}:{config_key}",
                             f"secret for {owner} still holds a placeholder; set the real value with "
                             f"`pulumi config set --secret {config_key} <value>`"))
    if problems:
        raise ConfigError(config.stack, problems)


__all__ = ["ConfigError", "ServiceSpec", "load_platform_config", "checked_config", "merge_layers", "deep_merge",
           "check_provided_secrets", "provided_secret_keys"]
