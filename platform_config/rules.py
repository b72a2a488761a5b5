"""What the API server, a controller or the runtime would refuse or run wrongly, found before registration.

Each rule reads the whole validated config and returns ``Problem``s naming the key path (the
``pulumi config set --path`` form), what is wrong and the fix. The formats are Kubernetes' own
(apimachinery's validation: DNS-1123/1035 names, qualified label names, IANA port names, C
identifiers) and those of the controllers the program targets (Velero's Go durations and cron,
Prometheus' durations).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from pydantic import ValidationError

from specs.delivery import TrackPlan, plan_for
from specs.mesh import PROXY_ANNOTATIONS
from specs.observability import alert_rules
from specs.workload import helper_config_map

from .models import (DNS1123_LABEL, Autoscaling, Container, DisruptionBudget, PlatformConfig, ResourceAmounts,
                     Resources, ServiceSpec)
from .quantities import parse_quantity

DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$")
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$", re.ASCII)
PROMETHEUS_DURATION = re.compile(r"^((?P<y>\d+)y)?((?P<w>\d+)w)?((?P<d>\d+)d)?((?P<h>\d+)h)?((?P<m>\d+)m)?"
                                 r"((?P<s>\d+)s)?((?P<ms>\d+)ms)?$", re.ASCII)
PROMETHEUS_UNIT_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$", re.ASCII)
# The distribution spec's image reference, without tag or digest (the program appends the tag): an optional
# registry host (a first part with '.' or ':', or localhost), then lower-case path components.
IMAGE_REGISTRY = re.compile(r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
                            r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?", re.ASCII)
IMAGE_PATH = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*", re.ASCII)
# The characters of a URL path (RFC 3986), and what the API server refuses in a Prefix Ingress path.
URL_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*", re.ASCII)
INGRESS_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
HEADER_VALUE = re.compile(r"[!-~]+(?:[ \t]+[!-~]+)*", re.ASCII)
# apimachinery's IsEnvVarName.
ENV_VAR_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
# Words of a secret key's name or env variable that say it holds a credential.
CREDENTIAL = re.compile(r"pass(word|wd|phrase)|pwd|secret|token|credential|(api|access|private|signing|encryption)"
                        r"[-_.]?key|(^|[-_.])key$", re.IGNORECASE)
ISTIO_RESERVED_PORTS = range(15000, 15091)  # the sidecar's own ports (15001, 15006, 15020, 15021, 15090, ...)
# Labels and names the program sets itself: a service that sets them breaks its own selectors.
OWNED_LABELS = ("app", "version", "app.kubernetes.io/name", "app.kubernetes.io/version",
                "app.kubernetes.io/managed-by")
# The longest suffix the program appends to a service's name for an object it derives
# ("<service>-rolebinding"; "<service>-canary-hpa" and "<service>-green-vpa" are shorter).
# tests/test_rules.py checks it against every rendered stack.
LONGEST_DERIVED_SUFFIX = len("-rolebinding")
MAX_NAME = 63


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    fix: str


def config_problems(config: PlatformConfig) -> list[Problem]:
    """Every problem of the whole config, in key order within each rule."""
    problems: list[Problem] = []
    for rule in (_service_names, _labels, _annotations, _object_names, _images, _quantities, _limit_ranges, _ports, _environment, _config_keys, _containers, _ingress,
                 _secret_names, _secret_values, _endpoints, _mesh, _backups, _prometheus_durations, _go_durations,
                 _paths, _urls, _canary_routes, _disruption_budgets, _alert_rules):
        problems += rule(config)
    return problems


def suggest(word: str, known, otherwise: str | None = None) -> str:
    """'did you mean X?' for the closest known name; else `otherwise` (by default, the known names)."""
    close = difflib.get_close_matches(word, list(known), n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return otherwise if otherwise is not None else f"known names: {', '.join(sorted(known))}"


# --- references: run as soon as the config is parsed --------------------------------------------

def reference_problems(config: PlatformConfig) -> list[Problem]:
    """Names that point nowhere (namespaces, callers, dependencies, storage classes, JWT services, the trace
    collector) and features that need another one. Checked as soon as the config is parsed, before the
    rules above: they, the capacity check and the release plan look these names up."""
    return list(_references(config))


def _references(config: PlatformConfig) -> Iterator[Problem]:
    platform = config.platform
    for name, service in config.services.items():
        where = f"services.{name}"
        if service.namespace not in config.namespaces:
            yield Problem(f"{where}.namespace", f"'{service.namespace}' is not declared under namespaces",
                          f"add it there or pick one of: {', '.join(sorted(config.namespaces))}")
        for key, names, others, other_kind in (("callers", service.callers, config.peers, "a peer"),
                                               ("dependencies", service.dependencies, config.endpoints, "an endpoint")):
            for unknown in (name for name in names if name not in config.services and name not in others):
                yield Problem(f"{where}.{key}", f"'{unknown}' is neither a service nor {other_kind}",
                              suggest(unknown, [*config.services, *others]))
        if service.delivery == "canary" and platform.mesh.provider != "istio":
            yield Problem(f"{where}.delivery", "canary delivery splits traffic with Istio, but "
                          f"platform.mesh.provider is '{platform.mesh.provider}'",
                          "set it to istio, or use delivery: rolling or blueGreen")
        for index, secret in enumerate(service.secrets):
            sources = {secret.source_of(key, platform.secret_source) for key in secret.keys.values()}
            if "external" in sources and sources & {"generated", "provided"}:
                yield Problem(f"{where}.secrets.{index}", "a Secret is either fetched by the External Secrets "
                              "Operator or created by Pulumi: do not mix external keys with generated or provided "
                              "ones", "split it into two secrets")
        if platform.storage_classes:
            for claim_name, claim in service.claims.items():
                if claim.storage_class not in platform.storage_classes:
                    yield Problem(f"{where}.claims.{claim_name}.storageClass",
                                  f"'{claim.storage_class}' is not under platform.storageClasses",
                                  suggest(claim.storage_class, platform.storage_classes))
    jwt = platform.mesh.jwt
    if jwt:
        if platform.mesh.provider != "istio":
            yield Problem("platform.mesh.jwt", "JWT validation is done by Istio", "set platform.mesh.provider: istio")
        for service_name in jwt.services:
            if service_name not in config.services:
                yield Problem("platform.mesh.jwt.services", f"'{service_name}' is not a service",
                              suggest(service_name, config.services))
    tracing = platform.observability.tracing
    if tracing and tracing.collector and tracing.collector not in config.endpoints:
        yield Problem("platform.observability.tracing.collector", f"'{tracing.collector}' is not an endpoint",
                      suggest(tracing.collector, config.endpoints))


def _helpers(key: str, service: ServiceSpec) -> Iterator[tuple[str, Container]]:
    """Each sidecar and init container of a service with its key path under `key` (`services.<name>` gives
    `services.<name>.sidecars.0`; `services.<name>.canary.overrides` the canary's)."""
    for group, helpers in (("sidecars", service.sidecars), ("initContainers", service.init_containers)):
        for index, helper in enumerate(helpers):
            yield f"{key}.{group}.{index}", helper


def _container_resources(key: str, service: ServiceSpec) -> list[tuple[str, Resources]]:
    """The service's container's resources and each helper's, with their key paths under `key`."""
    return [(f"{key}.resources", service.resources),
            *((f"{where}.resources", helper.resources) for where, helper in _helpers(key, service))]


# --- names and labels ---------------------------------------------------------------------------

def _service_names(config: PlatformConfig) -> Iterator[Problem]:
    longest = MAX_NAME - LONGEST_DERIVED_SUFFIX
    for name, service in config.services.items():
        for key, helper in _helpers(f"services.{name}", service):
            config_map = helper_config_map(name, helper)
            # The pod's volume for it is named "<helper>-config": a DNS-1123 label too.
            if helper.config_files and (len(config_map) > MAX_NAME or len(f"{helper.name}-config") > MAX_NAME):
                yield Problem(f"{key}.name", f"the ConfigMap of its configFiles would be named '{config_map}', "
                              f"longer than {MAX_NAME} characters", "give the container a shorter name")
        if not DNS1035_LABEL.fullmatch(name):
            yield Problem(f"services.{name}", f"'{name}' cannot name a Kubernetes Service (DNS-1035: lower-case "
                          "letters, digits and '-', starting with a letter)", "rename the service in the catalog")
        elif len(name) > longest:
            yield Problem(f"services.{name}", f"'{name}' has {len(name)} characters, so names derived from it "
                          f"(such as '{name}-rolebinding') pass Kubernetes' limit of {MAX_NAME}",
                          f"rename the service to at most {longest} characters")


QUALIFIED_NAME_FIX = ("use an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', "
                      "starting and ending with a letter or digit")


def _qualified_name(name: str) -> bool:
    """A label or annotation key: an optional DNS-1123 subdomain and '/', then at most 63 characters."""
    prefix, _, short = name.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(short) <= MAX_NAME and bool(LABEL_NAME.fullmatch(short))


def _label_problems(key: str, labels: dict[str, str], owned: tuple[str, ...] = OWNED_LABELS) -> Iterator[Problem]:
    for label, value in labels.items():
        if label in owned:
            yield Problem(f"{key}.{label}", f"the program sets '{label}' itself and selects pods by it",
                          "remove it, or choose another label name")
        elif not _qualified_name(label):
            yield Problem(f"{key}.{label}", f"'{label}' is not a valid label name", QUALIFIED_NAME_FIX)
        if len(value) > MAX_NAME or not LABEL_VALUE.fullmatch(value):
            yield Problem(f"{key}.{label}", "the value is not a valid label value",
                          "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
                          "or digit (or put free text in annotations)")


def _labels(config: PlatformConfig) -> Iterator[Problem]:
    """Labels the program sets (a service's own, which must leave the program's alone) and labels it selects
    by (peers' and endpoints' pods) or that select it (the ServiceMonitors' for Prometheus)."""
    platform = config.platform
    peers = {"platform.scrapeFrom": platform.scrape_from, "platform.ingressFrom": platform.ingress_from,
             **{f"peers.{name}": peer for name, peer in config.peers.items()}}
    for key, peer in peers.items():
        if peer is not None:
            yield from _label_problems(f"{key}.podLabels", peer.pod_labels, owned=())
    for name, endpoint in config.endpoints.items():
        yield from _label_problems(f"endpoints.{name}.podLabels", endpoint.pod_labels, owned=())
    yield from _label_problems("platform.observability.monitorLabels", platform.observability.monitor_labels,
                               owned=())
    for name, service in config.services.items():
        yield from _label_problems(f"services.{name}.labels", service.labels)
        for where, tag in _tags(name, service):
            # The tag is also the pods' app.kubernetes.io/version label.
            if len(tag) > MAX_NAME or not LABEL_VALUE.fullmatch(tag):
                yield Problem(where, f"tag '{tag}' is also the pods' app.kubernetes.io/version label, which "
                              "allows at most 63 letters, digits, '-', '_' or '.'", "use a shorter tag")


def _annotations(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        maps = {"annotations": service.annotations, "podAnnotations": service.pod_annotations,
                "canary.annotations": service.canary.annotations}
        if service.blue_green:
            maps.update({f"blueGreen.{colour}.annotations": service.blue_green.colour(colour).annotations
                         for colour in ("blue", "green")})
        for where, annotations in maps.items():
            for key in annotations:
                if not _qualified_name(key):
                    yield Problem(f"services.{name}.{where}.{key}", f"'{key}' is not a valid annotation key",
                                  QUALIFIED_NAME_FIX)


def _object_names(config: PlatformConfig) -> Iterator[Problem]:
    """Names of objects the program creates or refers to, as the API server checks them: namespaces are
    DNS-1123 labels, the other objects DNS-1123 subdomains."""
    platform = config.platform
    namespaces = {"platform.dnsNamespace": platform.dns_namespace, "platform.backups.namespace":
                  platform.backups.namespace, **{f"{key}.namespace": peer.namespace for key, peer in (
                      ("platform.scrapeFrom", platform.scrape_from), ("platform.ingressFrom", platform.ingress_from),
                      *((f"peers.{name}", peer) for name, peer in config.peers.items())) if peer is not None},
                  **{f"endpoints.{name}.namespace": endpoint.namespace for name, endpoint in config.endpoints.items()
                     if endpoint.namespace is not None}}
    for key, namespace in namespaces.items():
        if len(namespace) > MAX_NAME or not DNS1123_LABEL.fullmatch(namespace):
            yield Problem(key, f"'{namespace}' is not a valid namespace name", "use at most 63 lower-case letters, "
                          "digits and '-', starting and ending with a letter or digit")
    others = {"platform.ingressClass": platform.ingress_class, "platform.secretStore": platform.secret_store,
              "platform.clusterIssuer": platform.cluster_issuer,
              "platform.backups.storageLocation": platform.backups.storage_location,
              **{f"platform.storageClasses.{name}": name for name in platform.storage_classes},
              **{f"services.{service_name}.claims.{name}": name for service_name, service in config.services.items()
                 for name in service.claims}}
    for key, name in others.items():
        if name is not None and (len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name)):
            yield Problem(key, f"'{name}' is not a valid object name", "use lower-case letters, digits, '-' and '.', "
                          "starting and ending with a letter or digit")


def _image_problem(key: str, image: str) -> Iterator[Problem]:
    registry, _, path = image.partition("/")
    if not path or not ("." in registry or ":" in registry or registry == "localhost"):
        registry, path = "", image
    if "@" in image or ":" in path:
        yield Problem(key, f"'{image}' holds a tag or digest, and the program appends the tag itself",
                      "write the repository alone (e.g. registry.example.com/team/app) and the version in tag")
    elif len(image) > 255 or (registry and not IMAGE_REGISTRY.fullmatch(registry)) or not IMAGE_PATH.fullmatch(path):
        yield Problem(key, f"'{image}' is not an image repository", "write an optional registry host, then "
                      "lower-case path components of letters, digits, '.', '_' and '-' separated by '/', e.g. "
                      "registry.example.com/team/app")


def _images(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        yield from _image_problem(f"services.{name}.image", service.image)
        for key, helper in _helpers(f"services.{name}", service):
            yield from _image_problem(f"{key}.image", helper.image)


def _tags(name: str, service: ServiceSpec) -> Iterator[tuple[str, str]]:
    yield f"services.{name}.tag", service.tag
    if service.canary.tag:
        yield f"services.{name}.canary.tag", service.canary.tag
    if service.blue_green:
        for colour in ("blue", "green"):
            tag = getattr(service.blue_green, colour).tag
            if tag:
                yield f"services.{name}.blueGreen.{colour}.tag", tag


# --- quantities ------------------------------------------------------------------------------------

# No container runtime starts a container with less memory than this (runc needs a few MiB itself).
SMALLEST_MEMORY = 4 * 2**20


def _amount_problems(key: str, amounts: ResourceAmounts) -> Iterator[Problem]:
    for resource, text in amounts.as_dict().items():
        value, _ = parse_quantity(text)
        if value <= 0:
            yield Problem(f"{key}.{resource}", f"{resource} of {text} leaves the container nothing",
                          "give a positive amount, e.g. 100m CPU or 256Mi memory")
        elif resource != "cpu" and value.denominator != 1:
            yield Problem(f"{key}.{resource}", f"{text} is a fraction of a byte ('m' means milli, not mega)",
                          f"write Mi for mebibytes, e.g. {text.removesuffix('m')}Mi")
        elif resource == "memory" and value < SMALLEST_MEMORY:
            yield Problem(f"{key}.{resource}", f"{text} is less than the 4Mi any container needs to start",
                          f"write the unit, e.g. {text}Mi")


def _quantities(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        for key, resources in _container_resources(f"services.{name}", service):
            yield from _amount_problems(f"{key}.requests", resources.requests)
            yield from _amount_problems(f"{key}.limits", resources.limits)
        for claim_name, claim in service.claims.items():
            size, _ = parse_quantity(claim.size)
            if size <= 0 or size.denominator != 1:
                yield Problem(f"services.{name}.claims.{claim_name}.size", f"{claim.size} cannot size a volume",
                              "give a whole, positive size such as 10Gi")


def _limit_ranges(config: PlatformConfig) -> Iterator[Problem]:
    for name, namespace in config.namespaces.items():
        key = f"namespaces.{name}.limits"
        defaults = namespace.limits
        yield from _amount_problems(f"{key}.default", defaults.default)
        yield from _amount_problems(f"{key}.defaultRequest", defaults.default_request)
        limits, requests = defaults.default.as_dict(), defaults.default_request.as_dict()
        for resource in sorted(set(limits) & set(requests)):
            if parse_quantity(requests[resource])[0] > parse_quantity(limits[resource])[0]:
                yield Problem(f"{key}.defaultRequest.{resource}", f"the default request ({requests[resource]}) is "
                              f"above the default limit ({limits[resource]}), so the API server refuses every pod "
                              "that relies on both", f"lower it to at most {limits[resource]}")


# --- ports ---------------------------------------------------------------------------------------

def _declared_ports(service: ServiceSpec) -> dict[str, int]:
    ports = {"http": service.port}
    if service.observability.metrics_port and service.observability.metrics_port != service.port:
        ports["metrics"] = service.observability.metrics_port
    return ports


def _probe_problems(key: str, probes, declared: dict[str, int]) -> Iterator[Problem]:
    for kind in ("startup", "liveness", "readiness"):
        probe = getattr(probes, kind, None)
        if probe is None:
            continue
        if isinstance(probe.port, int) and not 1 <= probe.port <= 65535:
            yield Problem(f"{key}.{kind}.port", f"port {probe.port} is outside 1-65535", "use a declared port")
        elif isinstance(probe.port, str) and probe.port not in declared:
            yield Problem(f"{key}.{kind}.port", f"the container declares no port named '{probe.port}'",
                          f"use one of: {', '.join(sorted(declared))}, or a port number")


def _ports(config: PlatformConfig) -> Iterator[Problem]:
    istio = config.platform.mesh.provider == "istio"
    for name, service in config.services.items():
        declared = _declared_ports(service)
        yield from _probe_problems(f"services.{name}.probes", service.probes, declared)
        owners: dict[int, str] = {port: f"services.{name}.{'port' if port_name == 'http' else 'observability.metricsPort'}"
                                  for port_name, port in declared.items()}
        for index, sidecar in enumerate(service.sidecars):
            key = f"services.{name}.sidecars.{index}"
            if sidecar.probes:
                yield from _probe_problems(f"{key}.probes", sidecar.probes, sidecar.ports)
            for port_name, port in sidecar.ports.items():
                if len(port_name) > 15 or not PORT_NAME.fullmatch(port_name):
                    yield Problem(f"{key}.ports.{port_name}", "not a valid port name", "use at most 15 lower-case "
                                  "letters, digits and '-', with at least one letter")
                if port_name in declared:
                    yield Problem(f"{key}.ports.{port_name}", f"the service's container already names a port "
                                  f"'{port_name}', and port names are unique in a pod", "rename the sidecar's port")
                if not 1 <= port <= 65535:
                    yield Problem(f"{key}.ports.{port_name}", f"port {port} is outside 1-65535", "pick a valid port")
                elif port in owners:
                    yield Problem(f"{key}.ports.{port_name}", f"port {port} is already used by {owners[port]}, and "
                                  "containers of one pod share its ports", "give the sidecar another port")
                owners.setdefault(port, f"{key}.ports.{port_name}")
        if istio:
            for port, key in sorted(owners.items()):
                if port in ISTIO_RESERVED_PORTS:
                    yield Problem(key, f"port {port} is reserved by the Istio sidecar (15000-15090)",
                                  "pick a port outside 15000-15090")


# --- environment and config keys ------------------------------------------------------------------

def _env_name_problem(variable: str, where: str) -> Iterator[Problem]:
    if not ENV_VAR_NAME.fullmatch(variable):
        yield Problem(where, f"{variable!r} is not a valid environment variable name", "use letters, digits, '_', "
                      "'-' and '.', not starting with a digit, e.g. LOG_LEVEL")


def _environment(config: PlatformConfig) -> Iterator[Problem]:
    # The platform's OTEL_* variables are defaults a service may override on purpose, so not counted here.
    for name, service in config.services.items():
        sources: dict[str, str] = {}

        def define(variable: str, where: str) -> Iterator[Problem]:
            yield from _env_name_problem(variable, where)
            if variable in sources:
                yield Problem(where, f"{variable} is also set by {sources[variable]}, and only one value would reach "
                              "the container", "set it in one place")
            sources.setdefault(variable, where)

        for variable in service.env:
            yield from define(variable, f"services.{name}.env.{variable}")
        for variable in service.config_env:
            yield from define(variable, f"services.{name}.configEnv.{variable}")
        for index, secret in enumerate(service.secrets):
            for key_name, key in secret.keys.items():
                if key.env:
                    yield from define(key.env, f"services.{name}.secrets.{index}.keys.{key_name}.env")
        for key, helper in _helpers(f"services.{name}", service):
            for variable in helper.env:
                yield from _env_name_problem(variable, f"{key}.env.{variable}")


def _config_keys(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        sections = {"configFiles": service.config_files, "configData": service.config_data}
        for index, secret in enumerate(service.secrets):
            sections[f"secrets.{index}.keys"] = secret.keys
        for section, keys in sections.items():
            for key in keys:
                if len(key) > 253 or not CONFIG_KEY.fullmatch(key):
                    yield Problem(f"services.{name}.{section}.{key}", f"'{key}' is not a valid ConfigMap/Secret key",
                                  "use letters, digits, '-', '_' and '.' only")
        for key in sorted(set(service.config_files) & set(service.config_data)):
            yield Problem(f"services.{name}.configData.{key}", f"configFiles.{key} writes the same ConfigMap key",
                          "rename one of them")


def _containers(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        named = {name: f"services.{name}"}
        for key, helper in _helpers(f"services.{name}", service):
            first = named.setdefault(helper.name, f"{key}.name")
            if first != f"{key}.name":
                yield Problem(f"{key}.name", f"{first} already names a container of the pod '{helper.name}'",
                              "give each container its own name")
            for path in helper.mounts:
                if path not in service.writable_paths:
                    yield Problem(f"{key}.mounts.{path}", f"'{path}' is not one of the service's writablePaths "
                                  f"({', '.join(service.writable_paths)}), so no volume backs it",
                                  f"add it to services.{name}.writablePaths or mount a declared path")
            targets = Counter(helper.mounts.values())
            for path, count in targets.items():
                if count > 1:
                    yield Problem(f"{key}.mounts", f"'{path}' is mounted {count} times in one container",
                                  "mount each path once")
        main_paths = Counter([*service.writable_paths, *(claim.mount_path for claim in service.claims.values()
                                                          if claim.mount_path)])
        if service.config_files:
            main_paths[service.config_mount_path] += 1
        for path, count in main_paths.items():
            if count > 1:
                yield Problem(f"services.{name}", f"'{path}' is mounted {count} times in the service's container "
                              "(writablePaths, claims, configMountPath)", "mount each path once")


# --- edge, secrets, endpoints, mesh -------------------------------------------------------------

def _ingress(config: PlatformConfig) -> Iterator[Problem]:
    routes: dict[tuple[str, str], str] = {}
    for name, service in config.services.items():
        route = service.ingress
        if route is None:
            continue
        key = f"services.{name}.ingress"
        host = route.host.removeprefix("*.")
        if "://" in route.host or ":" in host or len(host) > 253 or not DNS1123_SUBDOMAIN.fullmatch(host):
            yield Problem(f"{key}.host", f"'{route.host}' is not a host name as an Ingress takes it",
                          "write the lower-case host alone (no scheme, port or path), e.g. api.example.com")
        if not route.path.startswith("/"):
            yield Problem(f"{key}.path", f"'{route.path}' is relative, and an Ingress path must be absolute",
                          f"write '/{route.path}'")
        elif not URL_PATH.fullmatch(route.path) or any(part in route.path for part in INGRESS_PATH_SEQUENCES) or \
                route.path.endswith(("/.", "/..")):
            yield Problem(f"{key}.path", f"'{route.path}' is not a plain URL path, which a Prefix Ingress path must be "
                          "(no spaces or regular expressions, no '//', '.' or '..' segments)",
                          "write the path prefix itself, e.g. /api/v1")
        if route.tls_secret is not None and (len(route.tls_secret) > 253
                                             or not DNS1123_SUBDOMAIN.fullmatch(route.tls_secret)):
            yield Problem(f"{key}.tlsSecret", f"'{route.tls_secret}' is not a valid Secret name",
                          "use lower-case letters, digits, '-' and '.'")
        if config.platform.ingress_from is None:
            yield Problem(key, "platform.ingressFrom is null, so the service's NetworkPolicy admits no ingress "
                          "controller and every request through this Ingress is dropped",
                          "set platform.ingressFrom to the controller's namespace and pod labels, or remove the Ingress")
        first = routes.setdefault((route.host, route.path), name)
        if first != name:
            yield Problem(f"{key}.host", f"{route.host}{route.path} is already routed to {first}, and the "
                          "ingress controller would pick one of the two", "give one of them another host or path")


def _secret_names(config: PlatformConfig) -> Iterator[Problem]:
    owners: dict[tuple[str, str], str] = {}
    for name, service in config.services.items():
        for index, secret in enumerate(service.secrets):
            secret_name = secret.secret_name(name)
            key = f"services.{name}.secrets.{index}.name"
            if len(secret_name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(secret_name):
                yield Problem(key, f"'{secret_name}' is not a valid Secret name",
                              "use lower-case letters, digits, '-' and '.'")
            first = owners.setdefault((service.namespace, secret_name), key)
            if first != key:
                yield Problem(key, f"Secret '{secret_name}' in {service.namespace} is also written by {first}, and "
                              "one would overwrite the other", "give each secret its own name")


def _secret_values(config: PlatformConfig) -> Iterator[Problem]:
    """Only a key whose source (its own, its secret's or platform.secretSource) is static takes a value, and
    only one that is not sensitive, such as a user name: the value is in plain text in the config, the
    rendered objects (an ExternalSecret's template) and the state."""
    for name, service in config.services.items():
        for index, secret in enumerate(service.secrets):
            for key_name, key in secret.keys.items():
                where = f"services.{name}.secrets.{index}.keys.{key_name}"
                provided = (f"set source: provided and run `pulumi config set --secret {key.stack_key(name, key_name)} "
                            "<value>`")
                static = secret.source_of(key, config.platform.secret_source) == "static"
                if key.value is None:
                    if static:
                        yield Problem(where, "its source is static, which takes the value from `value`, and it has "
                                      "none", "add value (for a value that is not sensitive), or choose another source")
                elif not static:
                    yield Problem(f"{where}.value", "a secret value must not be written in plain text",
                                  f"remove it, {provided} (only source: static, for values that are not sensitive "
                                  "such as a user name, takes a value)")
                elif CREDENTIAL.search(key_name) or (key.env and CREDENTIAL.search(key.env)):
                    named = f"'{key_name}'" + (f" (env {key.env})" if key.env else "")
                    yield Problem(f"{where}.value", f"{named} looks like a credential, and a static value is written "
                                  "in plain text in the config, the rendered objects and the state",
                                  f"remove the value, {provided} (static is for values that are not sensitive, such "
                                  "as a user name)")


def _endpoints(config: PlatformConfig) -> Iterator[Problem]:
    for name, endpoint in config.endpoints.items():
        key = f"endpoints.{name}"
        in_cluster = endpoint.namespace is not None and bool(endpoint.pod_labels)
        if in_cluster == (endpoint.cidr is not None):
            yield Problem(key, "an endpoint is reached either in the cluster (namespace and podLabels) or as a "
                          f"managed service (cidr), and this one {'gives both' if in_cluster else 'gives neither'}",
                          "keep namespace with podLabels, or cidr with host")
            continue
        if endpoint.cidr is not None and endpoint.host is None:
            yield Problem(f"{key}.host", "a managed endpoint (cidr) has no host, so services would be given the "
                          f"address {name}.None.svc", "set host to the managed service's DNS name")
        if endpoint.cidr is not None:
            try:
                ipaddress.ip_network(endpoint.cidr, strict=False)
            except ValueError as error:
                yield Problem(f"{key}.cidr", f"'{endpoint.cidr}' is not an address range ({error})",
                              "write it as address/prefix, e.g. 10.20.0.0/16")


def _mesh(config: PlatformConfig) -> Iterator[Problem]:
    mesh = config.platform.mesh
    if mesh.mtls == "STRICT" and mesh.provider == "none":
        yield Problem("platform.mesh.mtls", "STRICT mutual TLS needs a service mesh, and provider is none",
                      "set platform.mesh.provider: istio, or mtls: PERMISSIVE")
    if mesh.jwt and not mesh.jwt.issuer.startswith("https://"):
        yield Problem("platform.mesh.jwt.issuer", f"'{mesh.jwt.issuer}' is not an https URL, so tokens could be "
                      "forged by anyone on the path to it", "use the issuer's https URL")
    if mesh.jwt and not mesh.jwt.jwks_uri.startswith("https://"):
        yield Problem("platform.mesh.jwt.jwksUri", f"'{mesh.jwt.jwks_uri}' is not an https URL, so the signing "
                      "keys could be replaced in transit", "use the issuer's https JWKS URL")
    if mesh.provider == "istio" and mesh.mtls == "STRICT":
        for name, service in config.services.items():
            if service.pod_annotations.get("sidecar.istio.io/inject") == "false":
                yield Problem(f"services.{name}.podAnnotations.sidecar.istio.io/inject", "a pod without a sidecar "
                              "cannot speak mutual TLS, and its namespace is STRICT, so no peer could reach it",
                              "remove the annotation, or make the mesh PERMISSIVE")
    if mesh.provider == "istio":
        for name, service in config.services.items():
            for key in sorted(set(service.pod_annotations) & set(PROXY_ANNOTATIONS.values())):
                yield Problem(f"services.{name}.podAnnotations.{key}", "the program writes the proxy's resource "
                              "annotations itself, from proxyResources, and the capacity check counts those",
                              f"remove the annotation and set services.{name}.proxyResources")


# --- other controllers' formats ------------------------------------------------------------------

def _backups(config: PlatformConfig) -> Iterator[Problem]:
    backups = config.platform.backups
    if not backups.enabled:
        return
    if not GO_DURATION.fullmatch(backups.ttl):
        yield Problem("platform.backups.ttl", f"'{backups.ttl}' is not a Go duration, which Velero requires",
                      "write hours, e.g. 720h0m0s for 30 days")
    fields = backups.schedule.split()
    if not backups.schedule.startswith("@") and (len(fields) != 5 or not all(CRON_FIELD.fullmatch(f) for f in fields)):
        yield Problem("platform.backups.schedule", f"'{backups.schedule}' is not a five-field cron expression",
                      "write minute hour day-of-month month day-of-week, e.g. '0 2 * * *'")


def _prometheus_seconds(value: str) -> float | None:
    """A Prometheus duration in seconds, or None if it is not one."""
    found = PROMETHEUS_DURATION.fullmatch(value) if value else None
    if found is None:
        return None
    return sum(int(count) * PROMETHEUS_UNIT_SECONDS[unit] for unit, count in found.groupdict().items() if count)


def _prometheus_durations(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        monitor = service.observability.service_monitor
        durations = {"observability.serviceMonitor.interval": monitor.interval,
                     "observability.serviceMonitor.scrapeTimeout": monitor.scrape_timeout}
        durations.update({f"observability.alerts.extra.{index}.for": alert.for_
                          for index, alert in enumerate(service.observability.alerts.extra)})
        for key, value in durations.items():
            if value is not None and _prometheus_seconds(value) is None:
                yield Problem(f"services.{name}.{key}", f"'{value}' is not a Prometheus duration",
                              "write a number with a unit: ms, s, m, h, d, w or y (e.g. 30s, 5m)")
        interval = _prometheus_seconds(monitor.interval)
        timeout = _prometheus_seconds(monitor.scrape_timeout) if monitor.scrape_timeout else None
        key = f"services.{name}.observability.serviceMonitor"
        if interval == 0:
            yield Problem(f"{key}.interval", "a scrape interval of 0 never scrapes", "write e.g. 30s")
        elif interval and timeout and timeout > interval:
            yield Problem(f"{key}.scrapeTimeout", f"the scrape timeout ({monitor.scrape_timeout}) is longer than the "
                          f"interval ({monitor.interval}), which Prometheus refuses",
                          f"make it at most {monitor.interval}")


def _go_durations(config: PlatformConfig) -> Iterator[Problem]:
    """Durations read by Go controllers (the External Secrets Operator, Istio's traffic policy)."""
    durations = {"platform.secretRefreshInterval": config.platform.secret_refresh_interval}
    for name, service in config.services.items():
        policy = service.canary.traffic_policy
        where = f"services.{name}.canary.trafficPolicy"
        durations.update({f"{where}.outlierDetection.interval": policy.outlier_detection.interval,
                          f"{where}.outlierDetection.baseEjectionTime": policy.outlier_detection.base_ejection_time,
                          f"{where}.hashCookieTtl": policy.hash_cookie_ttl})
    for key, value in durations.items():
        if not GO_DURATION.fullmatch(value):
            yield Problem(key, f"'{value}' is not a Go duration", "write a number with a unit: ms, s, m or h "
                          "(e.g. 30s, 1h)")


def _paths(config: PlatformConfig) -> Iterator[Problem]:
    """Container paths (mounts) must be absolute, without ':' (the runtime's separator of mount options); HTTP
    paths Prometheus scrapes must be absolute too, or the scrape URL runs into the port."""
    for name, service in config.services.items():
        where = f"services.{name}"
        mounts = {**{f"{where}.writablePaths.{index}": path for index, path in enumerate(service.writable_paths)},
                  **{f"{where}.claims.{claim}.mountPath": spec.mount_path for claim, spec in service.claims.items()
                     if spec.mount_path is not None}}
        if service.config_files:
            mounts[f"{where}.configMountPath"] = service.config_mount_path
        for key, helper in _helpers(f"services.{name}", service):
            mounts.update({f"{key}.mounts.{source}": target for source, target in helper.mounts.items()})
            if helper.config_mount_path is not None:
                mounts[f"{key}.configMountPath"] = helper.config_mount_path
        for key, path in mounts.items():
            if not path.startswith("/") or ":" in path:
                yield Problem(key, f"'{path}' is not an absolute path without ':', as a container mount path must be",
                              "write it from the root, e.g. /var/lib/app")
        if not URL_PATH.fullmatch(path := service.observability.metrics_path):
            yield Problem(f"{where}.observability.metricsPath", f"'{path}' is not an absolute URL path",
                          "write it from the root, e.g. /metrics")


def _urls(config: PlatformConfig) -> Iterator[Problem]:
    """URLs handed on as they are: alert links (runbooks) and the OpenTelemetry exporters' endpoint, which the
    OTLP specification requires with its scheme."""
    observability = config.platform.observability
    urls = {"platform.observability.runbookBaseUrl": (observability.runbook_base_url,
                                                      "https://runbooks.example.com/alerts")}
    if observability.tracing:
        urls["platform.observability.tracing.endpoint"] = (observability.tracing.endpoint,
                                                           "http://otel-collector.observability:4317")
    for key, (url, example) in urls.items():
        scheme, _, rest = url.partition("://")
        if scheme not in ("http", "https") or not rest or any(character.isspace() for character in url):
            yield Problem(key, f"'{url}' is not an http or https URL", f"write it in full, e.g. {example}")


# --- delivery -------------------------------------------------------------------------------------

def _canary_routes(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        canary = service.canary
        if service.delivery == "canary" and canary.tag and canary.replicas == 0:
            yield Problem(f"services.{name}.canary.replicas", "the canary header route sends requests to a canary "
                          "with 0 pods, so they fail", "give the canary at least one replica, or remove canary.tag")
        # An HTTP field value is visible characters and inner spaces (RFC 9110): no request carries anything else.
        if not HEADER_VALUE.fullmatch(canary.header_value):
            yield Problem(f"services.{name}.canary.headerValue", f"{canary.header_value!r} is not an HTTP header value, "
                          "so no request could match the canary route", "use visible characters, e.g. true")
        if any(later <= earlier for earlier, later in zip(canary.steps, canary.steps[1:])):
            yield Problem(f"services.{name}.canary.steps", f"{canary.steps} do not increase, and a release goes "
                          "through its steps in order", "list each weight once, smallest first, e.g. [10, 50, 100]")


def _floor_key(service: ServiceSpec, plan: TrackPlan) -> str:
    """The service key that sets a track's fewest pods."""
    version = plan.track.version
    if version == "canary":
        canary = service.canary
        if canary.replicas is not None:
            return "canary.replicas"
        return "canary.autoscaling.minReplicas" if plan.autoscaling is not None else "canary.weight"
    if version in ("blue", "green") and service.colours.colour(version).replicas is not None:
        return f"blueGreen.{version}.replicas"
    return "autoscaling.minReplicas" if service.autoscaling.enabled else "replicas"


def _disruption_budgets(config: PlatformConfig) -> Iterator[Problem]:
    """Every PodDisruptionBudget (the stable track's, each blue-green colour's, the canary's) must admit an
    eviction when its own track runs its fewest pods, or a node drain waits for ever."""
    for name, service in config.services.items():
        blocked: dict[str, list[TrackPlan]] = {}
        for plan in plan_for(name, service).tracks:
            budget = plan.budget
            if budget is not None and budget.min_available is not None and budget.min_available >= plan.min_replicas:
                where = "canary.disruptionBudget" if plan.track.version == "canary" else "disruptionBudget"
                blocked.setdefault(where, []).append(plan)
        for where, plans in blocked.items():
            fewest = min(plans, key=lambda plan: plan.min_replicas)
            tracks = " and ".join(f"{plan.track.deployment_name}-pdb" for plan in plans)
            keep = plans[0].budget.min_available
            floor_key = f"services.{name}.{_floor_key(service, fewest)}"
            keeps = "keeps" if len(plans) == 1 else "each keep"
            yield Problem(f"services.{name}.{where}.minAvailable", f"{tracks} {keeps} {keep} pods available, but "
                          f"{fewest.track.deployment_name} runs as few as {fewest.min_replicas} ({floor_key}), so "
                          "the budget admits no eviction there and node drains hang",
                          f"set it to at most {fewest.min_replicas - 1}, raise {floor_key}, or use maxUnavailable: 1")


# --- one service's settings read together: run as soon as the config is parsed ------------------

def service_problems(config: PlatformConfig) -> list[Problem]:
    """A service's settings that contradict each other (a budget with both bounds, bounds the wrong way
    round, a configEnv reading nothing, a shared single-node volume, delivery settings of another
    strategy). Checked with the references, before anything reads a canary's pods (``canary_spec``,
    ``plan_for``): the canary's overridden settings are held to the same rules. Whether each budget
    admits an eviction at its own track's minimum is ``_disruption_budgets``, one of config_problems."""
    problems: list[Problem] = []
    for name, service in config.services.items():
        key = f"services.{name}"
        found = [*_delivery_settings(key, service), *_one_service(key, service)]
        if service.canary.overrides and not found:
            found += _canary_pods(f"{key}.canary.overrides", service)
        problems += found
    return problems


def _one_service(key: str, service: ServiceSpec) -> Iterator[Problem]:
    strategy = service.strategy
    if str(strategy.max_surge) in ("0", "0%") and str(strategy.max_unavailable) in ("0", "0%"):
        yield Problem(f"{key}.strategy.maxSurge", "maxSurge and maxUnavailable are both 0, so a rollout can never "
                      "progress", "set maxSurge to 1")
    lifecycle = service.lifecycle
    if lifecycle.termination_grace_period_seconds <= lifecycle.pre_stop_sleep_seconds:
        yield Problem(f"{key}.lifecycle.terminationGracePeriodSeconds",
                      f"{lifecycle.termination_grace_period_seconds} must exceed preStopSleepSeconds "
                      f"({lifecycle.pre_stop_sleep_seconds}), or the pod is killed before it drains",
                      f"raise it to at least {lifecycle.pre_stop_sleep_seconds + 1} or shorten the preStop sleep")
    yield from _autoscaler(f"{key}.autoscaling", service.autoscaling)
    yield from _budget_bounds(f"{key}.disruptionBudget", service.disruption_budget)
    for where, resources in _container_resources(key, service):
        yield from _requests_within_limits(where, resources)
    for kind in ("startup", "liveness"):
        threshold = getattr(service.probes, kind).success_threshold
        if threshold != 1:
            yield Problem(f"{key}.probes.{kind}.successThreshold", f"is {threshold}, and the API server accepts "
                          f"only 1 for a {kind} probe", "set it to 1 or leave it out")
    for where, helper in _helpers(key, service):
        if helper.config_files and not helper.config_mount_path:
            yield Problem(f"{where}.configMountPath", f"container '{helper.name}' has configFiles but nowhere to "
                          "mount them", "set configMountPath, e.g. /etc/<name>")
    vertical = service.vertical_autoscaling
    if vertical.enabled and vertical.min_allowed and vertical.max_allowed:
        low, high = vertical.min_allowed.as_dict(), vertical.max_allowed.as_dict()
        for resource in sorted(set(low) & set(high)):
            if parse_quantity(low[resource])[0] > parse_quantity(high[resource])[0]:
                yield Problem(f"{key}.verticalAutoscaling.minAllowed.{resource}",
                              f"{low[resource]} is above maxAllowed.{resource} ({high[resource]})",
                              f"lower it to at most {high[resource]} or raise maxAllowed.{resource}")
    for variable, data_key in service.config_env.items():
        if data_key not in service.config_data:
            yield Problem(f"{key}.configEnv.{variable}", f"reads '{data_key}', which configData does not define",
                          f"add '{data_key}' to configData or drop {variable} from configEnv")
    most = service.autoscaling.max_replicas if service.autoscaling.enabled else service.replicas
    for claim_name, claim in service.claims.items():
        if claim.mount_path and claim.access_mode.startswith("ReadWriteOnce") and most > 1:
            yield Problem(f"{key}.claims.{claim_name}.accessMode",
                          f"{claim.access_mode}, but mounted by up to {most} replicas that may land on different nodes",
                          "use ReadWriteMany, or leave mountPath unset for a claim that a database in the "
                          "namespace uses")


def _requests_within_limits(key: str, resources: Resources) -> Iterator[Problem]:
    requests, limits = resources.requests.as_dict(), resources.limits.as_dict()
    for resource in ("cpu", "memory", "ephemeral-storage"):
        request, limit = requests.get(resource), limits.get(resource)
        if request is None and limit is None and resource == "ephemeral-storage":
            continue
        if request is None or limit is None:
            missing = "requests" if request is None else "limits"
            yield Problem(f"{key}.{missing}.{resource}", f"is not set, and {resource} needs a request and a limit",
                          f"set both requests.{resource} and limits.{resource}")
        elif parse_quantity(request)[0] > parse_quantity(limit)[0]:
            yield Problem(f"{key}.requests.{resource}", f"{request} is above limits.{resource} ({limit})",
                          "lower the request or raise the limit")


def _autoscaler(key: str, autoscaling: Autoscaling | None) -> Iterator[Problem]:
    if autoscaling is None or not autoscaling.enabled:
        return
    if autoscaling.min_replicas > autoscaling.max_replicas:
        yield Problem(f"{key}.minReplicas", f"{autoscaling.min_replicas} is above maxReplicas "
                      f"({autoscaling.max_replicas})", "lower minReplicas or raise maxReplicas")
    if autoscaling.cpu_utilization is None and autoscaling.memory_utilization is None and not autoscaling.pods_metrics:
        yield Problem(f"{key}.cpuUtilization", "an enabled autoscaler needs at least one metric, and this one has "
                      "none", "set cpuUtilization (or memoryUtilization, or podsMetrics)")


def _budget_bounds(key: str, budget: DisruptionBudget | None) -> Iterator[Problem]:
    if budget is not None and budget.min_available is not None and budget.max_unavailable is not None:
        yield Problem(f"{key}.maxUnavailable", "is set beside minAvailable, and a budget takes one bound",
                      "set either minAvailable or maxUnavailable, not both")


def _delivery_settings(key: str, service: ServiceSpec) -> Iterator[Problem]:
    blue_green, canary = service.blue_green, service.canary
    if blue_green is not None and service.delivery != "blueGreen":
        yield Problem(f"{key}.blueGreen", "blueGreen settings on a service whose delivery is not blueGreen",
                      "set delivery: blueGreen or remove the blueGreen block")
    elif blue_green is not None:
        active = blue_green.colour(blue_green.active)
        if active.tag is None:
            yield Problem(f"{key}.blueGreen.active", f"the active colour '{blue_green.active}' has no image tag",
                          f"set blueGreen.{blue_green.active}.tag before switching, or keep blueGreen.active: "
                          f"{blue_green.idle}")
        elif active.replicas == 0:
            yield Problem(f"{key}.blueGreen.active", f"the active colour '{blue_green.active}' is scaled to 0 "
                          "replicas and would serve nothing",
                          f"scale it up (blueGreen.{blue_green.active}.replicas) before switching to it")
        for colour_name in ("blue", "green"):
            replicas = blue_green.colour(colour_name).replicas
            if service.autoscaling.enabled and replicas is not None and replicas > service.autoscaling.max_replicas:
                yield Problem(f"{key}.blueGreen.{colour_name}.replicas",
                              f"{replicas} is the floor of that colour's autoscaler but above its "
                              f"autoscaling.maxReplicas ({service.autoscaling.max_replicas})",
                              "lower it or raise maxReplicas")
    if canary.weight > 0 and canary.tag is None:
        yield Problem(f"{key}.canary.tag", f"is not set, so weight {canary.weight} sends traffic to a canary "
                      "without an image", "set canary.tag, or set canary.weight to 0")
    yield from _autoscaler(f"{key}.canary.autoscaling", canary.autoscaling)
    yield from _budget_bounds(f"{key}.canary.disruptionBudget", canary.disruption_budget)
    if service.delivery != "canary" and canary.tag is not None:
        yield Problem(f"{key}.canary.tag", "canary settings on a service whose delivery is not canary",
                      "set delivery: canary or remove canary.tag")
    for setting in sorted(CANARY_WIDE_KEYS & set(canary.overrides)):
        yield Problem(f"{key}.canary.overrides.{setting}", f"{setting} belongs to the whole service, not the "
                      "canary's pods", "set it on the service; canary.autoscaling and canary.disruptionBudget "
                      "size the canary")


# Settings of the whole service (its objects, its traffic, its other tracks), which canary.overrides
# may not change: they shape more than the canary's pods.
CANARY_WIDE_KEYS = frozenset({"namespace", "port", "delivery", "canary", "blueGreen", "autoscaling",
                              "disruptionBudget", "secrets", "configFiles", "configData", "claims", "callers",
                              "dependencies", "ingress", "rbac"})


def _canary_pods(key: str, service: ServiceSpec) -> Iterator[Problem]:
    try:
        canary = service.canary_spec()
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"])
            yield Problem(f"{key}.{where}" if where else key, item["msg"].removeprefix("Value error, "),
                          "correct the override, or remove it to keep the service's setting")
        return
    yield from _one_service(key, canary)


def _alert_rules(config: PlatformConfig) -> Iterator[Problem]:
    """Every service's alert rules built once: the configured PromQL selectors are read there (a selector
    the builder cannot read, or one that contradicts the labels it adds, is named at its metrics key), and
    an extra alert may not take a name the rules already use (Prometheus would keep both, and the
    runbook links and silences of one would hit the other)."""
    base_url = config.platform.observability.runbook_base_url
    for name, service in config.services.items():
        where = f"services.{name}.observability"
        try:
            rules = alert_rules(name, service.namespace, service, base_url)["groups"][0]["rules"]
        except ValueError as error:
            metrics = service.observability.metrics
            quoted = next((field for field, value in metrics if repr(value) in str(error)), None)
            key = f"{where}.metrics" + (f".{type(metrics).model_fields[quoted].alias}" if quoted else "")
            yield Problem(key, str(error), "write a metric name with optional label matchers, e.g. "
                          'http_requests_total{job="api"}, leaving out the namespace and service labels the '
                          "program adds")
            continue
        extra = service.observability.alerts.extra
        seen = {rule["alert"] for rule in rules[:len(rules) - len(extra)]}
        for index, alert in enumerate(extra):
            if alert.alert in seen:
                yield Problem(f"{where}.alerts.extra.{index}.alert", f"alert name '{alert.alert}' is already used by "
                              f"{name}'s rules", f"rename it, e.g. {alert.alert}Custom")
            seen.add(alert.alert)
