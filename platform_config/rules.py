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

from specs.workload import helper_config_map

from .models import (Autoscaling, Container, DisruptionBudget, PlatformConfig, ResourceAmounts, Resources,
                     ServiceSpec)
from .quantities import parse_quantity

DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$")
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
PROMETHEUS_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
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

    def as_pair(self) -> tuple[str, str]:
        return self.key, f"{self.message}; {self.fix}"


def config_problems(config: PlatformConfig) -> list[Problem]:
    """Every problem of the whole config, in key order within each rule."""
    problems: list[Problem] = []
    for rule in (_service_names, _labels, _quantities, _limit_ranges, _ports, _environment, _config_keys, _containers, _ingress,
                 _secret_names, _endpoints, _mesh, _backups, _prometheus_durations, _canary_routes):
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


# --- names and labels ---------------------------------------------------------------------------

def _service_names(config: PlatformConfig) -> Iterator[Problem]:
    longest = MAX_NAME - LONGEST_DERIVED_SUFFIX
    for name, service in config.services.items():
        for group in ("sidecars", "initContainers"):
            helpers: list[Container] = service.sidecars if group == "sidecars" else service.init_containers
            for index, helper in enumerate(helpers):
                config_map = helper_config_map(name, helper)
                # The pod's volume for it is named "<helper>-config": a DNS-1123 label too.
                if helper.config_files and (len(config_map) > MAX_NAME or len(f"{helper.name}-config") > MAX_NAME):
                    yield Problem(f"services.{name}.{group}.{index}.name", f"the ConfigMap of its configFiles "
                                  f"would be named '{config_map}', longer than {MAX_NAME} characters",
                                  "give the container a shorter name")
        if not DNS1035_LABEL.match(name):
            yield Problem(f"services.{name}", f"'{name}' cannot name a Kubernetes Service (DNS-1035: lower-case "
                          "letters, digits and '-', starting with a letter)", "rename the service in the catalog")
        elif len(name) > longest:
            yield Problem(f"services.{name}", f"'{name}' has {len(name)} characters, so names derived from it "
                          f"(such as '{name}-rolebinding') pass Kubernetes' limit of {MAX_NAME}",
                          f"rename the service to at most {longest} characters")


def _label_problems(key: str, labels: dict[str, str]) -> Iterator[Problem]:
    for label, value in labels.items():
        prefix, _, label_name = label.rpartition("/")
        if label in OWNED_LABELS:
            yield Problem(f"{key}.{label}", f"the program sets '{label}' itself and selects pods by it",
                          "remove it, or choose another label name")
        elif (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix))) or \
                len(label_name) > MAX_NAME or not LABEL_NAME.match(label_name):
            yield Problem(f"{key}.{label}", f"'{label}' is not a valid label name", "use an optional DNS "
                          "prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending "
                          "with a letter or digit")
        if len(value) > MAX_NAME or not LABEL_VALUE.match(value):
            yield Problem(f"{key}.{label}", "the value is not a valid label value",
                          "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
                          "or digit (or put free text in annotations)")


def _labels(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        yield from _label_problems(f"services.{name}.labels", service.labels)
        for where, tag in _tags(name, service):
            # The tag is also the pods' app.kubernetes.io/version label.
            if len(tag) > MAX_NAME or not LABEL_VALUE.match(tag):
                yield Problem(where, f"tag '{tag}' is also the pods' app.kubernetes.io/version label, which "
                              "allows at most 63 letters, digits, '-', '_' or '.'", "use a shorter tag")


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


def _helpers(key: str, service: ServiceSpec) -> Iterator[tuple[str, Container]]:
    """Each sidecar and init container with its key (``services.<name>.sidecars.0``)."""
    for group in ("sidecars", "initContainers"):
        helpers: list[Container] = service.sidecars if group == "sidecars" else service.init_containers
        for index, helper in enumerate(helpers):
            yield f"{key}.{group}.{index}", helper


def _container_resources(key: str, service: ServiceSpec) -> list[tuple[str, Resources]]:
    return [(f"{key}.resources", service.resources),
            *((f"{where}.resources", helper.resources) for where, helper in _helpers(key, service))]


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
                if len(port_name) > 15 or not PORT_NAME.match(port_name):
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

def _environment(config: PlatformConfig) -> Iterator[Problem]:
    # The platform's OTEL_* variables are defaults a service may override on purpose, so not counted here.
    for name, service in config.services.items():
        sources: dict[str, str] = {}

        def define(variable: str, where: str) -> Iterator[Problem]:
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


def _config_keys(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        sections = {"configFiles": service.config_files, "configData": service.config_data}
        for index, secret in enumerate(service.secrets):
            sections[f"secrets.{index}.keys"] = secret.keys
        for section, keys in sections.items():
            for key in keys:
                if len(key) > 253 or not CONFIG_KEY.match(key):
                    yield Problem(f"services.{name}.{section}.{key}", f"'{key}' is not a valid ConfigMap/Secret key",
                                  "use letters, digits, '-', '_' and '.' only")
        for key in sorted(set(service.config_files) & set(service.config_data)):
            yield Problem(f"services.{name}.configData.{key}", f"configFiles.{key} writes the same ConfigMap key",
                          "rename one of them")


def _containers(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        named = {name: f"services.{name}"}
        for group in ("sidecars", "initContainers"):
            helpers: list[Container] = service.sidecars if group == "sidecars" else service.init_containers
            for index, helper in enumerate(helpers):
                key = f"services.{name}.{group}.{index}"
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
        if "://" in route.host or ":" in host or len(host) > 253 or not DNS1123_SUBDOMAIN.match(host):
            yield Problem(f"{key}.host", f"'{route.host}' is not a host name as an Ingress takes it",
                          "write the lower-case host alone (no scheme, port or path), e.g. api.example.com")
        if not route.path.startswith("/"):
            yield Problem(f"{key}.path", f"'{route.path}' is relative, and an Ingress path must be absolute",
                          f"write '/{route.path}'")
        if route.tls_secret is not None and (len(route.tls_secret) > 253
                                             or not DNS1123_SUBDOMAIN.match(route.tls_secret)):
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
            if len(secret_name) > 253 or not DNS1123_SUBDOMAIN.match(secret_name):
                yield Problem(key, f"'{secret_name}' is not a valid Secret name",
                              "use lower-case letters, digits, '-' and '.'")
            first = owners.setdefault((service.namespace, secret_name), key)
            if first != key:
                yield Problem(key, f"Secret '{secret_name}' in {service.namespace} is also written by {first}, and "
                              "one would overwrite the other", "give each secret its own name")


def _endpoints(config: PlatformConfig) -> Iterator[Problem]:
    for name, endpoint in config.endpoints.items():
        key = f"endpoints.{name}"
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


# --- other controllers' formats ------------------------------------------------------------------

def _backups(config: PlatformConfig) -> Iterator[Problem]:
    backups = config.platform.backups
    if not backups.enabled:
        return
    if not GO_DURATION.match(backups.ttl):
        yield Problem("platform.backups.ttl", f"'{backups.ttl}' is not a Go duration, which Velero requires",
                      "write hours, e.g. 720h0m0s for 30 days")
    fields = backups.schedule.split()
    if not backups.schedule.startswith("@") and (len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields)):
        yield Problem("platform.backups.schedule", f"'{backups.schedule}' is not a five-field cron expression",
                      "write minute hour day-of-month month day-of-week, e.g. '0 2 * * *'")


def _prometheus_durations(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        observability = service.observability
        durations = {"observability.serviceMonitor.interval": observability.service_monitor.interval,
                     "observability.serviceMonitor.scrapeTimeout": observability.service_monitor.scrape_timeout}
        durations.update({f"observability.alerts.extra.{index}.for": alert.for_
                          for index, alert in enumerate(observability.alerts.extra)})
        for key, value in durations.items():
            if value is not None and (not value or not PROMETHEUS_DURATION.match(value)):
                yield Problem(f"services.{name}.{key}", f"'{value}' is not a Prometheus duration",
                              "write a number with a unit: ms, s, m, h, d, w or y (e.g. 30s, 5m)")


# --- delivery -------------------------------------------------------------------------------------

def _canary_routes(config: PlatformConfig) -> Iterator[Problem]:
    for name, service in config.services.items():
        canary = service.canary
        if service.delivery == "canary" and canary.tag and canary.replicas == 0:
            yield Problem(f"services.{name}.canary.replicas", "the canary header route sends requests to a canary "
                          "with 0 pods, so they fail", "give the canary at least one replica, or remove canary.tag")


# --- one service's settings read together: run as soon as the config is parsed ------------------

def service_problems(config: PlatformConfig) -> list[Problem]:
    """A service's settings that contradict each other (a budget no eviction can meet, bounds the
    wrong way round, a configEnv reading nothing, a shared single-node volume, delivery settings of
    another strategy). Checked with the references, before anything reads a canary's pods
    (``canary_spec``): the canary's overridden settings are held to the same rules."""
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
    for index, secret in enumerate(service.secrets):
        for key_name, secret_key in secret.keys.items():
            where = f"{key}.secrets.{index}.keys.{key_name}.value"
            if secret_key.value is not None and secret_key.source != "static":
                yield Problem(where, "a secret value must not be written in plain text",
                              "run `pulumi config set --secret <key> <value>` and name that key in configKey "
                              "(only source: static, for non-sensitive values such as a user name, takes a value)")
            elif secret_key.source == "static" and secret_key.value is None:
                yield Problem(where, "source: static needs a value", "write the (non-sensitive) value here, or "
                              "choose another source")
    floor = service.autoscaling.min_replicas if service.autoscaling.enabled else service.replicas
    budget = service.disruption_budget
    if budget.enabled and budget.min_available is not None:
        yield from _evictions(f"{key}.disruptionBudget.minAvailable", budget.min_available, floor,
                              "the minimum replica count", "or use maxUnavailable: 1")
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


def _evictions(key: str, min_available: int, floor: int, floor_name: str, otherwise: str) -> Iterator[Problem]:
    if min_available >= floor:
        yield Problem(key, f"{min_available} is not below {floor_name} ({floor}), so the budget blocks every "
                           "eviction and node drains hang", f"set it to at most {floor - 1} {otherwise}")


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
    if canary.disruption_budget is not None and canary.disruption_budget.min_available is not None:
        floor = (canary.autoscaling.min_replicas if canary.autoscaling and canary.autoscaling.enabled
                 else canary.replicas)
        if floor is not None:
            yield from _evictions(f"{key}.canary.disruptionBudget.minAvailable",
                                  canary.disruption_budget.min_available, floor, "the canary's minimum replica count",
                                  "(canary.autoscaling and canary.replicas size the canary)")
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
