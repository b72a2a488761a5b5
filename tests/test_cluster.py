"""The program's objects against a real Kubernetes API server (tools/cluster.py).

The session fixture builds the control plane if needed (scripts/cluster_build.sh: minutes, once),
starts it in build/test-cluster on its own ports (a cluster of `make cluster` is left alone), and
removes it at the end. What only a real API server shows: Pod Security admission, CRD validation,
ResourceQuota at peak size, scheduling over the simulated nodes, Service endpoints.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conftest import ROOT, START_BUDGET_SECONDS, STACKS, injected_namespaces, injected_proxy, rendered, wait_until
from platform_config.capacity import namespace_demands, show
from platform_config.loader import ConfigError, load_platform_config
from platform_config.merge import deep_merge
from platform_config.quantities import quantity_value
from platform_config.stack import stack_file_config
from platform_program import load
from tools import cluster
from tools.kube_api import ApiError, KubeClient, is_true

FIELD_MANAGER = "micropay-cluster-test"
HPA_FIELD_MANAGER = "horizontal-pod-autoscaler-test"   # stands in for the HPA controller's scale writes
PEAK_STACK = "production"


# --- the cluster itself ---------------------------------------------------------------------------

def test_cluster_starts_within_budget_and_a_second_start_is_harmless(started, kube):
    assert started <= START_BUDGET_SECONDS, f"cluster start took {started:.1f}s (budget {START_BUDGET_SECONDS}s)"
    pids = {name: cluster.running_pid(name) for name in cluster.ORDER}
    assert all(pids.values()), pids
    again = subprocess.run([sys.executable, "-m", "tools.cluster", "up"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert {name: cluster.running_pid(name) for name in cluster.ORDER} == pids, "a second start restarted processes"
    assert kube.request("GET", "/readyz") == "ok"


def test_a_port_in_use_is_a_clear_error(started, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**os.environ, cluster.DIR_ENV: str(tmp_path / "other"), cluster.PORT_ENV: str(port)}
        result = subprocess.run([sys.executable, "-m", "tools.cluster", "up"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1, needed by etcd" in result.stderr or \
        f"port {port} on 127.0.0.1, needed by kube-apiserver" in result.stderr, result.stderr
    assert cluster.PORT_ENV in result.stderr
    assert not (tmp_path / "other" / "run").exists() or not any((tmp_path / "other" / "run").iterdir())


def test_api_server_is_loopback_only_with_rbac_and_client_certificates(kube):
    args = " ".join(cluster.component_args("kube-apiserver", cluster.binaries()["kube-apiserver"]))
    assert "--bind-address=127.0.0.1" in args and "--authorization-mode=RBAC" in args
    listening = subprocess.run(["ss", "-Htln"], capture_output=True, text=True).stdout
    for name, port in cluster.ports().items():
        if name == "kwok" or name == "etcd-peer":
            continue
        assert f"127.0.0.1:{port} " in listening, f"{name} is not listening on 127.0.0.1:{port}"
        assert f"0.0.0.0:{port} " not in listening and f"*:{port} " not in listening, f"{name} listens beyond loopback"
    # RBAC on: the scheduler's identity may not read Secrets.
    pki = cluster.pki_dir()
    scheduler = KubeClient(kube.server, pki / "ca.crt", pki / "scheduler.crt", pki / "scheduler.key")
    with pytest.raises(ApiError) as refused:
        scheduler.list("v1", "Secret", "kube-system")
    assert refused.value.status == 403


def test_nodes_cover_the_seed_pools_over_three_zones(kube):
    nodes = kube.list("v1", "Node")
    assert all(is_true(node, "Ready") for node in nodes)
    zones = Counter(node["metadata"]["labels"][cluster.ZONE_LABEL] for node in nodes)
    assert set(zones) == set(cluster.ZONES) and len(set(zones.values())) == 1, zones
    shapes = {(node["metadata"]["labels"][cluster.POOL_LABEL], node["status"]["capacity"]["cpu"],
               node["status"]["capacity"]["memory"]) for node in nodes}
    assert shapes == {("general", "8", "32Gi"), ("compute", "16", "64Gi"), ("memory", "8", "64Gi")}


# --- admission ------------------------------------------------------------------------------------

def namespaces_of(stack: str) -> list[dict]:
    return [item for item in rendered(stack).manifests if item["kind"] == "Namespace"]


def apply_namespaces(kube: KubeClient, stack: str) -> list[str]:
    names = []
    for namespace in namespaces_of(stack):
        kube.apply(namespace, field_manager=FIELD_MANAGER)
        names.append(namespace["metadata"]["name"])
    return names


# Admitted at `baseline`, refused at `restricted` (no runAsNonRoot, seccomp profile, dropped
# capabilities): so the test tells restricted from a weaker level, not only from none.
NON_COMPLIANT_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "psa-negative-control"},
    "spec": {"containers": [{"name": "app", "image": "busybox:1.36",
                             "resources": {"limits": {"cpu": "100m", "memory": "64Mi"},
                                           "requests": {"cpu": "50m", "memory": "32Mi"}}}]},
}
COMPLIANT_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "psa-positive-control"},
    "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                 "seccompProfile": {"type": "RuntimeDefault"}},
             "containers": [{"name": "app", "image": "busybox:1.36",
                             "resources": {"limits": {"cpu": "100m", "memory": "64Mi"},
                                           "requests": {"cpu": "50m", "memory": "32Mi"}},
                             "securityContext": {"allowPrivilegeEscalation": False,
                                                 "capabilities": {"drop": ["ALL"]}}}]},
}


@pytest.mark.parametrize("stack", STACKS)
def test_pod_security_restricted_is_enforced_in_every_program_namespace(kube, stack):
    """Negative control: a pod short of `restricted` is refused by PodSecurity in every namespace the stack creates."""
    for name in apply_namespaces(kube, stack):
        assert kube.get("v1", "Namespace", name)["metadata"]["labels"].get(
            "pod-security.kubernetes.io/enforce") == "restricted", name
        with pytest.raises(ApiError) as refused:
            kube.create({**NON_COMPLIANT_POD, "metadata": {**NON_COMPLIANT_POD["metadata"], "namespace": name}},
                        dry_run=True)
        assert refused.value.status == 403 and 'violates PodSecurity "restricted' in str(refused.value), \
            f"{stack}: namespace {name} admitted a pod short of restricted: {refused.value}"
        kube.create({**COMPLIANT_POD, "metadata": {**COMPLIANT_POD["metadata"], "namespace": name}}, dry_run=True)


def test_custom_resources_are_validated_by_the_api_server(kube):
    apply_namespaces(kube, PEAK_STACK)
    manifests = rendered(PEAK_STACK).manifests
    service = next(item for item in manifests if item["kind"] == "VirtualService")
    kube.apply(service, field_manager=FIELD_MANAGER, dry_run=True)
    wrong_type = {**service, "spec": {**service["spec"], "http": [
        {**service["spec"]["http"][0], "route": [{"destination": {"host": "x"}, "weight": "heavy"}]}]}}
    with pytest.raises(ApiError) as refused:
        kube.create(wrong_type, dry_run=True)
    assert refused.value.status == 422 and "weight" in str(refused.value), refused.value
    undeclared = {**service, "spec": {**service["spec"], "trafficShaping": "fast"}}
    with pytest.raises(ApiError) as refused:
        kube.apply(undeclared, field_manager=FIELD_MANAGER, dry_run=True)
    assert "trafficShaping" in str(refused.value), refused.value
    peer = next(item for item in manifests if item["kind"] == "PeerAuthentication")
    kube.apply(peer, field_manager=FIELD_MANAGER, dry_run=True)
    with pytest.raises(ApiError) as refused:
        kube.apply({**peer, "spec": {**peer["spec"], "mtls": {"mode": "SOMETIMES"}}},
                   field_manager=FIELD_MANAGER, dry_run=True)
    assert refused.value.status == 422 and "spec.mtls.mode" in str(refused.value), refused.value


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_object_passes_admission(kube, stack):
    """Server-side dry-run apply of every object the stack renders: schemas, CRDs, Pod Security, quotas."""
    apply_namespaces(kube, stack)
    kube.forget_discovery()
    refused = []
    for item in rendered(stack).manifests:
        if item["kind"] == "Namespace":
            continue
        try:
            kube.apply(item, field_manager=FIELD_MANAGER, dry_run=True)
        except (ApiError, KeyError) as error:
            refused.append(f"{item['kind']} {item['metadata'].get('namespace', '')}/{item['metadata']['name']}: "
                           f"{error}")
    assert not refused, f"{stack}: {len(refused)} object(s) refused:\n" + "\n".join(refused)


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_template_is_admitted_as_a_pod(kube, stack):
    """Pod Security warns only on a Deployment; it enforces on its pods: dry-run each template as a Pod
    (with the stack's ServiceAccounts in place: the ServiceAccount admission plugin looks them up)."""
    apply_namespaces(kube, stack)
    for account in (item for item in rendered(stack).manifests if item["kind"] == "ServiceAccount"):
        kube.apply(account, field_manager=FIELD_MANAGER)
    refused = []
    for item in rendered(stack).manifests:
        if item["kind"] not in WORKLOAD_KINDS:
            continue
        template = item["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {**template.get("metadata", {}), "name": f"{item['metadata']['name']}-template",
                            "namespace": item["metadata"]["namespace"]},
               "spec": template["spec"]}
        try:
            kube.create(pod, dry_run=True)
        except ApiError as error:
            refused.append(f"{item['kind']} {item['metadata']['namespace']}/{item['metadata']['name']}: {error}")
    assert not refused, f"{stack}: pod templates refused:\n" + "\n".join(refused)


# --- peak capacity --------------------------------------------------------------------------------

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
PEAK_TIMEOUT = 240.0
QUIET_SECONDS = 20.0           # no progress for this long while something is refused: it stays refused


def simulated_volume(claim: dict) -> dict:
    """A PersistentVolume pre-bound to ``claim``: the storage a provisioner would create."""
    meta = claim["metadata"]
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{meta['namespace']}-{meta['name']}"},
            "spec": {"capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                     "accessModes": claim["spec"]["accessModes"],
                     "storageClassName": claim["spec"].get("storageClassName", ""),
                     "persistentVolumeReclaimPolicy": "Delete",
                     "hostPath": {"path": f"/simulated/{meta['namespace']}/{meta['name']}"},
                     "claimRef": {"namespace": meta["namespace"], "name": meta["name"]}}}


def with_istio_proxy(deployment: dict) -> dict:
    """The Deployment with the istio-proxy Istio's injector would add to each of its pods.

    The local cluster has no Istio, so its pods would be charged less than a mesh charges them. The
    proxy goes in as the injector puts it since Istio 1.27: a native sidecar (an init container that
    keeps running), first, sized by the template's annotations, with the app container's image (the
    simulated nodes pull nothing) and restricted security settings.
    """
    proxy = injected_proxy(deployment["spec"]["template"])
    if proxy is None:
        return deployment
    injected = copy.deepcopy(deployment)
    pod = injected["spec"]["template"]["spec"]
    app = pod["containers"][0]
    pod["initContainers"] = [{**proxy, "image": app["image"], "restartPolicy": "Always",
                              "securityContext": app["securityContext"]}, *pod.get("initContainers", [])]
    return injected


def apply_stack(kube: KubeClient, stack: str) -> list[dict]:
    """Every rendered object of ``stack``, applied as the program would (server-side apply, in order),
    with the mesh's proxy in the pods of injected namespaces (``with_istio_proxy``)."""
    manifests = rendered(stack).manifests
    injected = injected_namespaces(manifests)
    apply_namespaces(kube, stack)
    kube.forget_discovery()
    for item in sorted((item for item in manifests if item["kind"] != "Namespace"),
                       key=lambda item: item["kind"] in WORKLOAD_KINDS):
        if item["kind"] == "PersistentVolumeClaim":
            kube.apply(simulated_volume(item), field_manager=FIELD_MANAGER)
        if item["kind"] == "Deployment" and item["metadata"]["namespace"] in injected:
            item = with_istio_proxy(item)
        kube.apply(item, field_manager=FIELD_MANAGER)
    return manifests


def rolled_out(deployment: dict) -> bool:
    status, spec = deployment.get("status", {}), deployment["spec"]
    wanted = spec.get("replicas", 1)
    return (status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == wanted == status.get("readyReplicas", 0)
            and status.get("replicas", 0) == wanted)


def problems_by_namespace(kube: KubeClient, namespaces: list[str]) -> dict[str, list[str]]:
    """What keeps pods from being admitted or scheduled, per namespace, named precisely."""
    found: dict[str, list[str]] = defaultdict(list)
    for namespace in namespaces:
        seen = set()
        for event in kube.list("v1", "Event", namespace):
            involved = event["involvedObject"]
            if event.get("reason") not in ("FailedCreate", "FailedScheduling"):
                continue
            message = event.get("message", "")
            if event["reason"] == "FailedCreate" and "exceeded quota" in message:
                message = message[message.index("exceeded quota"):]
            key = (event["reason"], involved.get("kind"), involved.get("name").rsplit("-", 1)[0]
                   if involved.get("kind") == "ReplicaSet" else "", message)
            if key not in seen:
                seen.add(key)
                found[namespace].append(f"{event['reason']} {involved.get('kind')} {involved.get('name')}: {message}")
        for deployment in kube.list("apps/v1", "Deployment", namespace):
            if not rolled_out(deployment):
                status = deployment.get("status", {})
                found[namespace].append(
                    f"Deployment {deployment['metadata']['name']}: wants {deployment['spec'].get('replicas')}, "
                    f"{status.get('replicas', 0)} created, {status.get('updatedReplicas', 0)} updated, "
                    f"{status.get('readyReplicas', 0)} ready")
        quota_use = [f"{quota['metadata']['name']}: " + ", ".join(
            f"{resource} used {quota['status'].get('used', {}).get(resource)} of {hard}"
            for resource, hard in sorted(quota["status"].get("hard", {}).items()))
            for quota in kube.list("v1", "ResourceQuota", namespace)]
        if found.get(namespace):
            found[namespace] += quota_use
    return dict(found)


def delete_namespaces(kube: KubeClient, names: list[str], timeout: float = 180.0) -> None:
    """Delete ``names`` and wait until the namespace controller has emptied and removed them."""
    for name in names:
        kube.delete("v1", "Namespace", name)
    wait_until(f"namespaces {names} gone", lambda: not any(
        kube.get_or_none("v1", "Namespace", name) for name in names), timeout=timeout)


def settle(kube: KubeClient, namespaces: list[str], timeout: float = PEAK_TIMEOUT) -> None:
    """Until every Deployment is rolled out, or nothing has moved for QUIET_SECONDS."""
    deadline, last, quiet_since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        deployments = [item for namespace in namespaces for item in kube.list("apps/v1", "Deployment", namespace)]
        if all(rolled_out(item) for item in deployments):
            return
        state = sorted((item["metadata"]["name"], str(item.get("status"))) for item in deployments)
        if state != last:
            last, quiet_since = state, time.monotonic()
        elif time.monotonic() - quiet_since > QUIET_SECONDS:
            return
        time.sleep(1)


def release_step(kube: KubeClient, kind: str, name: str, namespace: str, step: str) -> None:
    """A new pod template, so the workload rolls at its current size (what a release does)."""
    kube.merge_patch(kube.resource("apps/v1", kind).path(namespace, name),
                     {"spec": {"template": {"metadata": {"annotations": {"micropay.io/release-step": step}}}}},
                     field_manager=FIELD_MANAGER)


@pytest.fixture(scope="module")
def peak(kube):
    """The peak stack applied, settled at its own replica counts, then every HPA target scaled to its
    maxReplicas through the scale subresource (as the HPA controller does) and rolled once at that size
    (a release step: maxSurge extra pods at once). The problems seen, per namespace."""
    manifests = apply_stack(kube, PEAK_STACK)
    namespaces = [item["metadata"]["name"] for item in manifests if item["kind"] == "Namespace"]
    settle(kube, namespaces)
    for hpa in (item for item in manifests if item["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        kube.scale("apps/v1", target["kind"], target["name"], hpa["metadata"]["namespace"],
                   hpa["spec"]["maxReplicas"], field_manager=HPA_FIELD_MANAGER)
    settle(kube, namespaces)
    for hpa in (item for item in manifests if item["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        release_step(kube, target["kind"], target["name"], hpa["metadata"]["namespace"], "peak")
    settle(kube, namespaces)
    yield problems_by_namespace(kube, namespaces)
    delete_namespaces(kube, namespaces)
    for claim in (item for item in manifests if item["kind"] == "PersistentVolumeClaim"):
        kube.delete("v1", "PersistentVolume", simulated_volume(claim)["metadata"]["name"])


def peak_namespaces() -> list:
    """The peak stack's namespaces, from its config (collection must not wait for a render)."""
    settings, _, _ = stack_file_config(PEAK_STACK)
    return sorted(load_platform_config(PEAK_STACK, settings).namespaces)


@pytest.mark.parametrize("namespace", peak_namespaces())
def test_peak_every_pod_is_admitted_and_scheduled(peak, namespace):
    assert namespace not in peak, (f"{PEAK_STACK}: namespace {namespace} at HPA maximum plus a release's surge:\n  "
                                   + "\n  ".join(peak[namespace]))


def test_pods_run_on_simulated_nodes_and_services_have_ready_endpoints(peak, kube):
    namespaces = [item["metadata"]["name"] for item in namespaces_of(PEAK_STACK)]
    nodes = {node["metadata"]["name"]: node for node in kube.list("v1", "Node")}
    pods = [pod for namespace in namespaces for pod in kube.list("v1", "Pod", namespace)]
    assert pods
    running = [pod for pod in pods if is_true(pod, "Ready")]
    for pod in running:
        assert pod["spec"]["nodeName"] in nodes and pod["status"].get("podIP"), pod["metadata"]["name"]
    zones = Counter(nodes[pod["spec"]["nodeName"]]["metadata"]["labels"][cluster.ZONE_LABEL] for pod in running)
    assert set(zones) == set(cluster.ZONES), zones
    without = []
    for namespace in namespaces:
        labels = [pod["metadata"].get("labels", {}) for pod in running if pod["metadata"]["namespace"] == namespace]
        slices = kube.list("discovery.k8s.io/v1", "EndpointSlice", namespace)
        for service in kube.list("v1", "Service", namespace):
            selector = service["spec"].get("selector")
            if not selector or not any(selector.items() <= pod_labels.items() for pod_labels in labels):
                continue   # e.g. the preview Service of an idle colour with no pods
            ready = [endpoint for piece in slices
                     if piece["metadata"].get("labels", {}).get("kubernetes.io/service-name")
                     == service["metadata"]["name"]
                     for endpoint in piece.get("endpoints") or [] if endpoint["conditions"].get("ready")]
            if not ready:
                without.append(f"{namespace}/{service['metadata']['name']}")
    assert not without, f"Services with ready pods but no ready endpoints: {without}"


# One Deployment (HPA 3–10, 4 CPU / 8Gi of limits per pod), so limits.cpu binds and a rollout's steps
# are not shared with another track's.
AGREEMENT_NAMESPACE = "micropay-fraud"


def quota_refusals(kube: KubeClient, namespace: str, seen: set[str]) -> list[str]:
    return [event["message"] for event in kube.list("v1", "Event", namespace)
            if event["metadata"]["uid"] not in seen and event.get("reason") == "FailedCreate"
            and "exceeded quota" in event.get("message", "")]


def test_the_check_and_the_cluster_agree_on_a_namespace_peak(peak, kube):
    """A quota equal to the check's peak admits the whole peak; one pod's worth below, both refuse it.

    The namespace is on the Istio mesh, so its pods carry istio-proxy (``with_istio_proxy``) and the
    figures include it: the quota charges 12 pods of 4 CPU plus 2 for the proxy.

    The stack's quota for the namespace is the check's figure exactly, and the peak fixture rolled its
    Deployment at HPA maximum under it with every pod created and scheduled. Lowered by one pod's limits,
    the check refuses the stack naming the key, and the same rollout on the cluster meets
    `FailedCreate … exceeded quota` (the pod it has just stopped is still charged), yet still completes.
    """
    namespace = AGREEMENT_NAMESPACE
    settings, secrets, _ = stack_file_config(PEAK_STACK)
    demand = namespace_demands(load_platform_config(PEAK_STACK, settings))[namespace]
    (track,) = demand.tracks
    need, one_pod = demand.total("limits.cpu"), track.footprint["limits.cpu"]
    (quota,) = kube.list("v1", "ResourceQuota", namespace)
    assert quantity_value(quota["spec"]["hard"]["limits.cpu"]) == need, "the quota is not the check's figure"
    assert namespace not in peak, "\n".join(peak[namespace])

    below = show("limits.cpu", need - one_pod)
    lowered = deep_merge(copy.deepcopy(settings), {"namespaces": {namespace: {"quota": {"limitsCpu": below}}}})
    with pytest.raises(ConfigError) as refused:
        load(PEAK_STACK, lowered, secrets)
    (problem,) = refused.value.problems
    assert problem[0] == f"namespaces.{namespace}.quota.limitsCpu"
    assert f"limits.cpu needs {show('limits.cpu', need)} at peak but the ResourceQuota allows {below}" in problem[1]

    kube.merge_patch(kube.resource("v1", "ResourceQuota").path(namespace, quota["metadata"]["name"]),
                     {"spec": {"hard": {"limits.cpu": below}}}, field_manager=FIELD_MANAGER)
    wait_until("the quota controller to take the lowered quota", lambda: kube.get(
        "v1", "ResourceQuota", quota["metadata"]["name"], namespace)["status"]["hard"]["limits.cpu"] == below)
    seen = {event["metadata"]["uid"] for event in kube.list("v1", "Event", namespace)}
    for deployment in kube.list("apps/v1", "Deployment", namespace):
        release_step(kube, "Deployment", deployment["metadata"]["name"], namespace, "one-pod-below")
    refusals = wait_until(f"FailedCreate … exceeded quota in {namespace} at limits.cpu {below}",
                          lambda: quota_refusals(kube, namespace, seen), timeout=PEAK_TIMEOUT)
    assert any("limits.cpu" in message for message in refusals), refusals
    wait_until(f"the rollout in {namespace} to complete after the refusals", lambda: all(
        rolled_out(item) for item in kube.list("apps/v1", "Deployment", namespace)), timeout=PEAK_TIMEOUT)


# --- through `pulumi up`: the kubernetes plugin in cluster mode -----------------------------------

PLUGIN_FIELD_MANAGER = "pulumi-micropay"


def stack_namespaces(stack: str) -> list[str]:
    settings, _, _ = stack_file_config(stack)
    return sorted(load_platform_config(stack, settings).namespaces)


def convergence_problems(kube: KubeClient, namespaces: list[str]) -> list[str]:
    """Deployments not Available, pods not Ready on a simulated node."""
    problems = []
    for namespace in namespaces:
        for deployment in kube.list("apps/v1", "Deployment", namespace):
            if not (rolled_out(deployment) and is_true(deployment, "Available")):
                problems.append(f"Deployment {namespace}/{deployment['metadata']['name']} not Available")
        for pod in kube.list("v1", "Pod", namespace):
            if not (is_true(pod, "Ready") and pod["spec"].get("nodeName")):
                problems.append(f"Pod {namespace}/{pod['metadata']['name']} not Ready on a node")
    return problems


def fresh_volumes(kube: KubeClient, stack: str) -> None:
    """Pre-bound volumes for the stack's claims, replacing any left released by an earlier test."""
    volumes = [simulated_volume(item) for item in rendered(stack).manifests if item["kind"] == "PersistentVolumeClaim"]
    for volume in volumes:
        kube.delete("v1", "PersistentVolume", volume["metadata"]["name"])
    wait_until("old volumes gone", lambda: not any(
        kube.get_or_none("v1", "PersistentVolume", volume["metadata"]["name"]) for volume in volumes))
    for volume in volumes:
        kube.apply(volume, field_manager=FIELD_MANAGER)


@pytest.mark.parametrize("stack", STACKS)
def test_pulumi_up_converges_and_a_second_up_changes_nothing(kube, cluster_engine, stack):
    namespaces = stack_namespaces(stack)
    delete_namespaces(kube, namespaces)      # objects earlier tests applied under another field manager
    fresh_volumes(kube, stack)
    cluster_engine.stack(stack)
    try:
        cluster_engine.run("up", "--yes", "--skip-preview", "--stack", stack)
        wait_until(f"{stack}: every Deployment Available and every pod Ready",
                   lambda: not convergence_problems(kube, namespaces), timeout=180)
        assert cluster_engine.run("preview", "--expect-no-changes", "--stack", stack).returncode == 0
        autoscaled = next((item for item in rendered(stack).manifests if item["kind"] == "HorizontalPodAutoscaler"
                           and item["spec"]["maxReplicas"] > item["spec"]["minReplicas"]), None)
        if autoscaled is not None:
            # The HPA controller writes replicas through the scale subresource under its own manager.
            target, namespace = autoscaled["spec"]["scaleTargetRef"], autoscaled["metadata"]["namespace"]
            wanted = autoscaled["spec"]["maxReplicas"]
            kube.scale("apps/v1", target["kind"], target["name"], namespace, wanted, field_manager=HPA_FIELD_MANAGER)
            cluster_engine.run("up", "--yes", "--skip-preview", "--stack", stack)
            live = kube.get("apps/v1", target["kind"], target["name"], namespace)
            assert live["spec"]["replicas"] == wanted, f"{stack}: pulumi up reset the autoscaler's replicas"
    finally:
        cluster_engine.run("stack", "rm", "--force", "--yes", stack, check=False)
        delete_namespaces(kube, namespaces)
