"""The micropay platform's policies as pure functions over Kubernetes objects.

Every policy is ``check(kind, obj, context) -> list[str]``: the violations of one object, as
messages. ``obj`` is the object as the API server would receive it (camelCase, as rendered by
``tools/render.py`` or handed to a CrossGuard policy by the engine); ``context`` carries the
environment and, for cross-object policies, every object of the stack.

Nothing here imports Pulumi, so the rules are unit-tested without the engine
(``tests/test_policy.py``) and run by the CrossGuard pack (``policy/__main__.py``) alike.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping

from platform_config.quantities import QuantityError, quantity_value

PRODUCTION = "production"
MANDATORY = "mandatory"
ADVISORY = "advisory"
ENVIRONMENT_VARIABLE = "MICROPAY_POLICY_ENVIRONMENT"
PLATFORM_CONFIG_KEY = "micropay-platform:platform"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
LONG_RUNNING_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod")
REPLICATED_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
SECCOMP_PROFILES = ("RuntimeDefault", "Localhost")
ALLOWED_ADDED_CAPABILITIES = ("NET_BIND_SERVICE",)          # the only one the restricted profile allows
VPA_PASSIVE_MODES = ("Off", "Initial")


def enforcement_for(environment: str | None) -> str:
    """Mandatory in production, advisory everywhere else."""
    return MANDATORY if environment == PRODUCTION else ADVISORY


def environment_from(environ: Mapping[str, str]) -> str:
    """The environment a policy run is for, from the process environment the engine hands a pack.

    1. ``$MICROPAY_POLICY_ENVIRONMENT`` (an explicit override);
    2. ``platform.environment`` of the stack's config (the engine passes it as ``$PULUMI_CONFIG``);
    3. the stack name (``$PULUMI_STACK``): ``production`` or ``*-production`` is production;
    4. otherwise ``unknown`` (advisory).
    """
    if environ.get(ENVIRONMENT_VARIABLE):
        return environ[ENVIRONMENT_VARIABLE].strip()
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
        platform = config.get(PLATFORM_CONFIG_KEY)
        if isinstance(platform, str):
            platform = json.loads(platform)
        if isinstance(platform, Mapping) and isinstance(platform.get("environment"), str):
            return platform["environment"]
    except (ValueError, AttributeError):
        pass
    stack = (environ.get("PULUMI_STACK") or "").rsplit("/", 1)[-1]
    if stack == PRODUCTION or stack.endswith("-" + PRODUCTION):
        return PRODUCTION
    return stack or "unknown"


# --- Objects -----------------------------------------------------------------------------------

def metadata(obj: Mapping) -> Mapping:
    return obj.get("metadata") or {}


def namespace_of(obj: Mapping) -> str | None:
    return metadata(obj).get("namespace")


def name_of(obj: Mapping) -> str:
    return str(metadata(obj).get("name", "<unnamed>"))


def describe(kind: str, obj: Mapping) -> str:
    namespace = namespace_of(obj)
    return f"{kind} {namespace + '/' if namespace else ''}{name_of(obj)}"


def pod_template(kind: str, obj: Mapping) -> Mapping | None:
    """The pod (metadata and spec) a workload runs."""
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return obj
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    if kind in WORKLOAD_KINDS:
        return spec.get("template")
    return None


def pod_spec(kind: str, obj: Mapping) -> Mapping:
    return (pod_template(kind, obj) or {}).get("spec") or {}


def pod_labels(kind: str, obj: Mapping) -> Mapping:
    return ((pod_template(kind, obj) or {}).get("metadata") or {}).get("labels") or {}


def containers(pod: Mapping, sections: Iterable[str] = ("initContainers", "containers", "ephemeralContainers")
               ) -> list[tuple[str, Mapping]]:
    return [(section, container) for section in sections for container in pod.get(section) or []]


def container_name(section: str, container: Mapping) -> str:
    prefix = {"initContainers": "init container ", "ephemeralContainers": "ephemeral container "}.get(section, "")
    return f"{prefix}{container.get('name', '<unnamed>')}"


def selector_matches(selector: Mapping | None, labels: Mapping) -> bool:
    """A LabelSelector against labels; an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def selector_is_empty(selector: Mapping | None) -> bool:
    selector = selector or {}
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity (``500m``, ``2Gi``, ``1``) as an exact number; None if it is not one (the
    API server's schema refuses those before any policy could matter)."""
    try:
        return quantity_value(value)
    except QuantityError:
        return None


def whole(value: Any) -> int | None:
    """An integer, also when it arrives as a float (the engine passes numbers as floats)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def scaled(value: Any, total: int) -> int | None:
    """An int-or-percent PDB field against ``total`` pods (percentages round up, as the controller does)."""
    if whole(value) is not None:
        return whole(value)
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return math.ceil(total * int(value[:-1]) / 100)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


# --- Context -----------------------------------------------------------------------------------

@dataclass
class Context:
    environment: str
    manifests: list[Mapping] = field(default_factory=list)
    _index: dict[tuple[str, str | None], list[Mapping]] | None = field(default=None, repr=False)

    def objects(self, kind: str, namespace: str | None = None) -> list[Mapping]:
        """Objects of a kind, in a namespace (None: in every namespace)."""
        if self._index is None:
            self._index = {}
            for item in self.manifests:
                self._index.setdefault((item.get("kind"), namespace_of(item)), []).append(item)
                self._index.setdefault((item.get("kind"), "*"), []).append(item)
        return list(self._index.get((kind, "*" if namespace is None else namespace), []))

    def workloads(self, namespace: str | None) -> list[tuple[str, Mapping]]:
        return [(kind, item) for kind in WORKLOAD_KINDS for item in self.objects(kind, namespace)]

    def hpas_for(self, kind: str, obj: Mapping) -> list[Mapping]:
        """HorizontalPodAutoscalers whose scaleTargetRef is this object."""
        return [hpa for hpa in self.objects("HorizontalPodAutoscaler", namespace_of(obj))
                if ((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == kind
                and ((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name_of(obj)]

    def replica_floor(self, kind: str, obj: Mapping) -> int:
        """The fewest pods a workload runs: its HPA's minReplicas, else spec.replicas (default 1)."""
        hpas = self.hpas_for(kind, obj)
        if hpas:
            return min(whole((hpa.get("spec") or {}).get("minReplicas", 1)) or 1 for hpa in hpas)
        if kind in REPLICATED_KINDS:
            replicas = whole((obj.get("spec") or {}).get("replicas", 1))
            return 1 if replicas is None else replicas
        return 1


# --- Policies ----------------------------------------------------------------------------------

def pod_security_restricted(kind: str, obj: Mapping, context: Context) -> list[str]:
    """The restricted Pod Security Standard, for every container including init containers."""
    pod = pod_spec(kind, obj)
    pod_context = pod.get("securityContext") or {}
    problems = [f"pod sets {field_name}: true" for field_name in ("hostNetwork", "hostPID", "hostIPC")
                if pod.get(field_name) is True]
    for section, container in containers(pod):
        where = container_name(section, container)
        own = container.get("securityContext") or {}

        def effective(key: str):
            return own[key] if key in own else pod_context.get(key)

        if effective("runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if effective("runAsUser") == 0:
            problems.append(f"{where}: runs as user 0 (root)")
        if own.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if own.get("privileged") is True:
            problems.append(f"{where}: privileged")
        capabilities = own.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{where}: capabilities do not drop ALL")
        added = [capability for capability in capabilities.get("add") or []
                 if capability not in ALLOWED_ADDED_CAPABILITIES]
        if added:
            problems.append(f"{where}: adds capabilities {', '.join(map(str, added))}")
        seccomp = (effective("seccompProfile") or {}).get("type")
        if seccomp not in SECCOMP_PROFILES:
            problems.append(f"{where}: seccompProfile is {seccomp or 'unset'}, not RuntimeDefault")
        if own.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: root filesystem is not read-only")
    return problems


def resources_requests_limits(kind: str, obj: Mapping, context: Context) -> list[str]:
    """cpu and memory requests and limits on every container, requests not above limits."""
    problems = []
    for section, container in containers(pod_spec(kind, obj), ("initContainers", "containers")):
        where = container_name(section, container)
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for part, values in (("requests", requests), ("limits", limits)):
            for resource in ("cpu", "memory"):
                if resource not in values:
                    problems.append(f"{where}: no {part}.{resource}")
        for resource in ("cpu", "memory"):
            request, limit = quantity(requests.get(resource)), quantity(limits.get(resource))
            if request is not None and limit is not None and request > limit:
                problems.append(f"{where}: {resource} request {requests[resource]} is above its limit "
                                f"{limits[resource]}")
    return problems


def probes(kind: str, obj: Mapping, context: Context) -> list[str]:
    """startup, liveness and readiness probes on the main container and every container that serves
    ports (native sidecars included); liveness differs from readiness. Helpers without ports (log
    shippers, init steps) are exempt: no traffic depends on their readiness."""
    if kind not in LONG_RUNNING_KINDS:
        return []
    pod = pod_spec(kind, obj)
    regular = containers(pod, ("containers",))
    sidecars = [("initContainers", container) for _, container in containers(pod, ("initContainers",))
                if container.get("restartPolicy") == "Always"]        # native sidecars run for the pod's life
    serving = [(section, container) for index, (section, container) in enumerate(regular + sidecars)
               if (index == 0 and section == "containers") or container.get("ports")]
    problems = []
    for section, container in serving:
        where = container_name(section, container)
        missing = [probe for probe in PROBES if not container.get(probe)]
        problems += [f"{where}: no {probe}" for probe in missing]
        if not {"livenessProbe", "readinessProbe"} & set(missing) \
                and container["livenessProbe"] == container["readinessProbe"]:
            problems.append(f"{where}: livenessProbe and readinessProbe are identical "
                            f"(a slow dependency would restart the pod instead of taking it out of rotation)")
    return problems


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when untagged); ``@sha256:`` digests count as pinned."""
    if "@" in image:
        return image.rsplit("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def image_pinned(kind: str, obj: Mapping, context: Context) -> list[str]:
    """No ``latest`` and no untagged images."""
    problems = []
    for section, container in containers(pod_spec(kind, obj)):
        where = container_name(section, container)
        image = container.get("image")
        if not isinstance(image, str) or not image:
            problems.append(f"{where}: no image")
            continue
        tag = image_tag(image)
        if tag is None:
            problems.append(f"{where}: image {image} has no tag (pulls latest)")
        elif tag == "latest":
            problems.append(f"{where}: image {image} uses the latest tag")
    return problems


def pdb_allows_eviction(kind: str, obj: Mapping, context: Context) -> list[str]:
    """A PodDisruptionBudget must allow at least one eviction at the minimum replica count."""
    spec = obj.get("spec") or {}
    selected = [(workload_kind, workload) for workload_kind, workload in context.workloads(namespace_of(obj))
                if workload_kind != "Pod" and selector_matches(spec.get("selector"), pod_labels(workload_kind,
                                                                                               workload))]
    if not selected:
        return [f"selects no workload in namespace {namespace_of(obj)} (selector {spec.get('selector')})"]
    floor = sum(context.replica_floor(workload_kind, workload) for workload_kind, workload in selected)
    workloads = ", ".join(f"{workload_kind} {name_of(workload)}" for workload_kind, workload in selected)
    if floor == 0:
        return []
    if "minAvailable" in spec and "maxUnavailable" in spec:
        return ["sets both minAvailable and maxUnavailable"]
    if "minAvailable" in spec:
        keep = scaled(spec["minAvailable"], floor)
        if keep is None:
            return [f"minAvailable {spec['minAvailable']!r} is not a number or percentage"]
        allowed = floor - keep
        setting = f"minAvailable {spec['minAvailable']}"
    elif "maxUnavailable" in spec:
        allowed = scaled(spec["maxUnavailable"], floor)
        if allowed is None:
            return [f"maxUnavailable {spec['maxUnavailable']!r} is not a number or percentage"]
        setting = f"maxUnavailable {spec['maxUnavailable']}"
    else:
        return ["sets neither minAvailable nor maxUnavailable"]
    if allowed < 1:
        return [f"{setting} allows no eviction at the minimum of {floor} pod(s) of {workloads}: "
                f"node drains would block"]
    return []


def hpa_min_replicas_production(kind: str, obj: Mapping, context: Context) -> list[str]:
    """In production an HPA keeps at least two pods."""
    if context.environment != PRODUCTION:
        return []
    minimum = (obj.get("spec") or {}).get("minReplicas", 1)
    if whole(minimum) is None or whole(minimum) < 2:
        return [f"minReplicas is {minimum}; production needs at least 2"]
    return []


def hpa_no_static_replicas(kind: str, obj: Mapping, context: Context) -> list[str]:
    """A workload an HPA scales must not set spec.replicas (every deployment would reset the HPA's count)."""
    hpas = context.hpas_for(kind, obj)
    if hpas and "replicas" in (obj.get("spec") or {}):
        return [f"sets spec.replicas ({obj['spec']['replicas']}) although HorizontalPodAutoscaler "
                f"{name_of(hpas[0])} scales it"]
    return []


def network_policy_coverage(kind: str, obj: Mapping, context: Context) -> list[str]:
    """Every workload's pods are selected by a pod-specific NetworkPolicy with both Ingress and Egress."""
    labels = pod_labels(kind, obj)
    for policy in context.objects("NetworkPolicy", namespace_of(obj)):
        spec = policy.get("spec") or {}
        if not selector_is_empty(spec.get("podSelector")) and selector_matches(spec.get("podSelector"), labels) \
                and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or []):
            return []
    return [f"no pod-specific NetworkPolicy in {namespace_of(obj)} selects its pods (labels {dict(labels)}) "
            f"for both Ingress and Egress"]


def default_deny_per_namespace(kind: str, obj: Mapping, context: Context) -> list[str]:
    """Every namespace the stack creates has a default-deny NetworkPolicy for ingress and egress."""
    namespace = name_of(obj)
    denied: set[str] = set()
    for policy in context.objects("NetworkPolicy", namespace):
        spec = policy.get("spec") or {}
        if not selector_is_empty(spec.get("podSelector")):
            continue
        types = set(spec.get("policyTypes") or [])
        if "Ingress" in types and not spec.get("ingress"):
            denied.add("Ingress")
        if "Egress" in types and not spec.get("egress"):
            denied.add("Egress")
    missing = sorted({"Ingress", "Egress"} - denied)
    if missing:
        return [f"no default-deny NetworkPolicy (empty podSelector, no rules) for {' and '.join(missing)}"]
    return []


def host_covered(host: str, tls_hosts: Iterable[str]) -> bool:
    for candidate in tls_hosts:
        if candidate == host:
            return True
        if candidate.startswith("*.") and host.count(".") == candidate.count(".") \
                and host.endswith(candidate[1:]):
            return True
    return False


def ingress_tls(kind: str, obj: Mapping, context: Context) -> list[str]:
    """An Ingress terminates TLS for every host it routes."""
    spec = obj.get("spec") or {}
    tls = spec.get("tls") or []
    if not tls:
        return ["has no tls section: it would serve plain HTTP"]
    problems = [f"tls entry {index} has no secretName" for index, entry in enumerate(tls)
                if not entry.get("secretName")]
    tls_hosts = [host for entry in tls for host in entry.get("hosts") or []]
    problems += [f"host {rule['host']} is not covered by tls" for rule in spec.get("rules") or []
                 if rule.get("host") and not host_covered(rule["host"], tls_hosts)]
    return problems


def hpa_scaled_resources(hpa: Mapping) -> set[str]:
    spec = hpa.get("spec") or {}
    if "targetCPUUtilizationPercentage" in spec:                  # autoscaling/v1
        return {"cpu"}
    metrics = spec.get("metrics")
    if metrics is None:
        return {"cpu"}                                           # autoscaling/v2 defaults to 80% cpu
    names = set()
    for metric in metrics:
        if metric.get("type") == "Resource":
            names.add((metric.get("resource") or {}).get("name"))
        elif metric.get("type") == "ContainerResource":
            names.add((metric.get("containerResource") or {}).get("name"))
    return names - {None}


def vpa_controlled_resources(vpa: Mapping) -> set[str]:
    policies = ((vpa.get("spec") or {}).get("resourcePolicy") or {}).get("containerPolicies")
    if not policies:
        return {"cpu", "memory"}
    controlled = set()
    for policy in policies:
        if policy.get("mode") == "Off":
            continue
        controlled.update(policy.get("controlledResources") or ("cpu", "memory"))
    return controlled


def vpa_hpa_conflict(kind: str, obj: Mapping, context: Context) -> list[str]:
    """A VPA that evicts or updates pods must not control a resource an HPA scales the same workload on."""
    spec = obj.get("spec") or {}
    mode = (spec.get("updatePolicy") or {}).get("updateMode", "Auto")
    if mode in VPA_PASSIVE_MODES:
        return []
    target = spec.get("targetRef") or {}
    problems = []
    for hpa in context.objects("HorizontalPodAutoscaler", namespace_of(obj)):
        reference = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if (reference.get("kind"), reference.get("name")) != (target.get("kind"), target.get("name")):
            continue
        overlap = sorted(hpa_scaled_resources(hpa) & vpa_controlled_resources(obj))
        if overlap:
            problems.append(f"updateMode {mode} controls {', '.join(overlap)}, which HorizontalPodAutoscaler "
                            f"{name_of(hpa)} scales {target.get('kind')} {target.get('name')} on: "
                            f"use updateMode Off or Initial, or drop those controlledResources")
    return problems


Check = Callable[[str, Mapping, Context], list[str]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    kinds: tuple[str, ...]
    check: Check
    cross_object: bool = False        # needs every object of the stack (a CrossGuard stack policy)


POLICIES: tuple[Policy, ...] = (
    Policy("pod-security-restricted", "Containers (init containers too) meet the restricted Pod Security "
           "Standard: runAsNonRoot, no privilege escalation, capabilities drop ALL, seccomp RuntimeDefault, "
           "read-only root filesystem.", WORKLOAD_KINDS, pod_security_restricted),
    Policy("resource-requests-limits", "Every container sets cpu and memory requests and limits, "
           "requests not above limits.", WORKLOAD_KINDS, resources_requests_limits),
    Policy("probes", "The main container and every container serving ports have startup, liveness and "
           "readiness probes, and liveness differs from readiness.", LONG_RUNNING_KINDS, probes),
    Policy("image-pinned", "No image uses the latest tag or no tag at all.", WORKLOAD_KINDS, image_pinned),
    Policy("pdb-allows-eviction", "A PodDisruptionBudget allows at least one eviction at the minimum replica "
           "count (HPA minReplicas, else spec.replicas).", ("PodDisruptionBudget",), pdb_allows_eviction,
           cross_object=True),
    Policy("hpa-min-replicas-production", "In production a HorizontalPodAutoscaler keeps minReplicas >= 2.",
           ("HorizontalPodAutoscaler",), hpa_min_replicas_production),
    Policy("hpa-no-static-replicas", "A workload a HorizontalPodAutoscaler scales sets no spec.replicas.",
           REPLICATED_KINDS, hpa_no_static_replicas, cross_object=True),
    Policy("network-policy-coverage", "Every workload is selected by a pod-specific NetworkPolicy with both "
           "Ingress and Egress.", WORKLOAD_KINDS, network_policy_coverage, cross_object=True),
    Policy("default-deny-per-namespace", "Every namespace the stack creates has a default-deny NetworkPolicy "
           "for Ingress and Egress.", ("Namespace",), default_deny_per_namespace, cross_object=True),
    Policy("ingress-tls", "Every Ingress terminates TLS for all of its hosts.", ("Ingress",), ingress_tls),
    Policy("vpa-hpa-conflict", "No VerticalPodAutoscaler in a mode other than Off/Initial controls a resource "
           "an HPA scales the same workload on.", ("VerticalPodAutoscaler",), vpa_hpa_conflict,
           cross_object=True),
)

POLICIES_BY_NAME = {policy.name: policy for policy in POLICIES}


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    object: str          # "Deployment micropay-core/api-gateway"
    message: str

    def __str__(self) -> str:
        return f"[{self.enforcement}] {self.policy}: {self.object}: {self.message}"


def check_object(kind: str, obj: Mapping, context: Context,
                 policies: Iterable[Policy] = POLICIES) -> list[Violation]:
    enforcement = enforcement_for(context.environment)
    return [Violation(policy.name, enforcement, describe(kind, obj), message)
            for policy in policies if kind in policy.kinds
            for message in policy.check(kind, obj, context)]


def check_manifests(manifests: Iterable[Mapping], environment: str,
                    policies: Iterable[Policy] = POLICIES) -> list[Violation]:
    """Every policy over every object of a stack (cross-object policies see all of them)."""
    manifests = [item for item in manifests if isinstance(item, Mapping)]
    context = Context(environment, manifests)
    chosen = tuple(policies)
    return [violation for item in manifests
            for violation in check_object(str(item.get("kind")), item, context, chosen)]


# --- Engine resources --------------------------------------------------------------------------

# Helm charts and YAML files register the objects they hold as resources of their own.
WRAPPER_TYPES = ("kubernetes:helm.sh/", "kubernetes:yaml")
TYPE_TOKEN = re.compile(r"^kubernetes:(?P<group>[^:/]+)/(?P<version>[^:]+):(?P<kind>[A-Za-z0-9]+)$")


def manifest_from_resource(resource_type: str, props: Mapping | None) -> dict | None:
    """A pulumi-kubernetes resource (type token and properties) as a Kubernetes object; None otherwise.

    ``kubernetes:apps/v1:Deployment`` -> apps/v1 Deployment; ``kubernetes:core/v1:Namespace`` -> v1
    Namespace; custom resources carry their own apiVersion and kind. Patches, lists and Helm/YAML
    wrappers are not objects of their own and are skipped.
    """
    if not resource_type.startswith("kubernetes:") or resource_type.startswith(WRAPPER_TYPES):
        return None
    body = dict(props or {})
    match = TYPE_TOKEN.match(resource_type)
    if match and not match["kind"].endswith(("Patch", "List")):
        group = match["group"]
        body.setdefault("apiVersion", match["version"] if group == "core" else f"{group}/{match['version']}")
        body.setdefault("kind", match["kind"])
    if not isinstance(body.get("kind"), str) or not isinstance(body.get("apiVersion"), str):
        return None
    if body["kind"].endswith(("Patch", "List")) or not isinstance(body.get("metadata"), Mapping):
        return None
    return body
