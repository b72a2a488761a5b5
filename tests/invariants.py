"""Checks every rendered workload must pass, whatever the stack."""

from __future__ import annotations

from platform_config.quantities import quantity_value
from specs.network import NAMESPACE_NAME_LABEL


def labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def containers_of(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec["containers"] + spec.get("initContainers", [])


def check_pod_security(deployment: dict) -> list[str]:
    problems = []
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    if pod["securityContext"].get("runAsNonRoot") is not True:
        problems.append(f"{name}: pod runAsNonRoot is not true")
    if pod["securityContext"].get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
    for container in containers_of(deployment):
        context = container.get("securityContext", {})
        where = f"{name}/{container['name']}"
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: root filesystem is writable")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{where}: capabilities are not dropped")
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(section, {}):
                    problems.append(f"{where}: no {section}.{resource}")
        for resource, request in resources.get("requests", {}).items():
            limit = resources.get("limits", {}).get(resource)
            if limit is not None and quantity_value(request) > quantity_value(limit):
                problems.append(f"{where}: {resource} request above limit")
        image = container["image"]
        if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
            problems.append(f"{where}: image {image} is not pinned")
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    main = pod["containers"][0]
    tmp_mounts = [mount for mount in main.get("volumeMounts", []) if mount["mountPath"] == "/tmp"]
    if not tmp_mounts or "emptyDir" not in volumes.get(tmp_mounts[0]["name"], {}):
        problems.append(f"{name}: /tmp is not a writable emptyDir")
    return problems


def check_probes(deployment: dict) -> list[str]:
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    name = deployment["metadata"]["name"]
    problems = [f"{name}: no {probe}" for probe in ("startupProbe", "livenessProbe", "readinessProbe")
                if probe not in main]
    if not problems and main["livenessProbe"] == main["readinessProbe"]:
        problems.append(f"{name}: liveness and readiness probes are identical")
    return problems


def check_namespace_selectors(policy: dict) -> list[str]:
    """Peers may select namespaces only by the label the API server sets on every namespace."""
    name = f"NetworkPolicy {policy['metadata'].get('namespace')}/{policy['metadata']['name']}"
    problems = []
    for direction, side in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(policy["spec"].get(direction, [])):
            for peer in rule.get(side, []):
                selector = peer.get("namespaceSelector")
                if selector is None:
                    continue
                keys = set(selector.get("matchLabels", {})) | {expression["key"] for expression
                                                               in selector.get("matchExpressions", [])}
                if keys != {NAMESPACE_NAME_LABEL}:
                    problems.append(f"{name}: {direction}[{index}] selects namespaces by {sorted(keys)}, "
                                    f"not only {NAMESPACE_NAME_LABEL}")
    return problems


def check_workloads(manifests: list[dict]) -> list[str]:
    """Cross-object invariants: HPA vs replicas, PDB vs replicas, NetworkPolicy and Service coverage."""
    problems = []
    by_kind: dict[str, list[dict]] = {}
    for item in manifests:
        by_kind.setdefault(item["kind"], []).append(item)

    def in_namespace(kind: str, namespace: str) -> list[dict]:
        return [item for item in by_kind.get(kind, []) if item["metadata"].get("namespace") == namespace]

    for deployment in by_kind.get("Deployment", []):
        name = deployment["metadata"]["name"]
        namespace = deployment["metadata"]["namespace"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        problems += check_pod_security(deployment) + check_probes(deployment)
        hpas = [hpa for hpa in in_namespace("HorizontalPodAutoscaler", namespace)
                if hpa["spec"]["scaleTargetRef"]["name"] == name]
        if hpas and "replicas" in deployment["spec"]:
            problems.append(f"{name}: static replicas under an HPA")
        if not hpas and "replicas" not in deployment["spec"]:
            problems.append(f"{name}: neither replicas nor an HPA")
        floor = hpas[0]["spec"]["minReplicas"] if hpas else deployment["spec"]["replicas"]
        for pdb in in_namespace("PodDisruptionBudget", namespace):
            if labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels):
                if "minAvailable" in pdb["spec"] and pdb["spec"]["minAvailable"] >= floor:
                    problems.append(f"{name}: PDB {pdb['metadata']['name']} blocks every eviction at {floor} pods")
                if pdb["spec"].get("maxUnavailable", 1) < 1:
                    problems.append(f"{name}: PDB {pdb['metadata']['name']} allows no eviction")
        policies = [policy for policy in in_namespace("NetworkPolicy", namespace)
                    if policy["spec"]["podSelector"].get("matchLabels")
                    and labels_match(policy["spec"]["podSelector"]["matchLabels"], pod_labels)]
        if not any({"Ingress", "Egress"} <= set(policy["spec"]["policyTypes"]) for policy in policies):
            problems.append(f"{name}: no pod-specific NetworkPolicy for ingress and egress")
        if not any(labels_match(service["spec"]["selector"], pod_labels)
                   for service in in_namespace("Service", namespace)) and floor > 0:
            problems.append(f"{name}: no Service selects its pods")
    for service in by_kind.get("Service", []):
        namespace = service["metadata"]["namespace"]
        running = [deployment for deployment in in_namespace("Deployment", namespace)
                   if deployment["spec"].get("replicas") != 0
                   and labels_match(service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])]
        if not running:
            problems.append(f"Service {namespace}/{service['metadata']['name']} selects no running pods")
    for policy in by_kind.get("NetworkPolicy", []):
        problems += check_namespace_selectors(policy)
    namespaces = {item["metadata"]["name"] for item in by_kind.get("Namespace", [])}
    for namespace in namespaces:
        denies = [policy for policy in in_namespace("NetworkPolicy", namespace)
                  if policy["spec"]["podSelector"] == {} and "ingress" not in policy["spec"]
                  and "egress" not in policy["spec"]]
        if not denies:
            problems.append(f"namespace {namespace}: no default-deny NetworkPolicy")
    return problems
