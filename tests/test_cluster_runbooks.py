"""The README's delivery runbooks, a replacement and protected state, through `pulumi up` on the local cluster.

One stack (development: blue-green payment-service, Istio canaries api-gateway and balance-service,
a claim, namespaces that hold state) is brought up once and taken through every step with
`pulumi config set` + `pulumi up`, exactly as README "Delivery runbooks" writes them; after each
step the live objects are read back: Service endpoints (EndpointSlices), the VirtualService,
Deployments and their pods. Steps of the two runbooks share an `up` where they touch different
services, so the module stays within the cluster tests' time budget.
"""

from __future__ import annotations

import json

import pytest

from conftest import wait_until
from platform_config.loader import load_platform_config
from platform_config.stack import stack_file_config
from test_cluster import convergence_problems, delete_namespaces, stack_namespaces
from tools.kube_api import ApiError, KubeClient, is_true

STACK = "development"
BLUE_GREEN, BLUE_GREEN_NAMESPACE = "payment-service", "micropay-payment"
CANARY, CANARY_NAMESPACE = "api-gateway", "micropay-core"
ROLLED_BACK_CANARY, ROLLED_BACK_NAMESPACE = "balance-service", "micropay-balance"
CLAIM, CLAIM_RESOURCE = "payment-db-pvc", "payment-service-claim-payment-db-pvc"
RELEASE = "1.1.0"
CONVERGE_SECONDS = 180


@pytest.fixture(scope="module")
def deployed(kube, cluster_engine):
    """The stack at rest, applied; removed with everything it left at the end of the module."""
    namespaces = stack_namespaces(STACK)
    delete_namespaces(kube, namespaces)      # what earlier tests applied under another field manager
    cluster_engine.stack(STACK)
    try:
        up(cluster_engine, kube)
        yield cluster_engine
    finally:
        cluster_engine.run("stack", "rm", "--force", "--yes", STACK, check=False)
        delete_namespaces(kube, namespaces)


def config_set(engine, path: str, value: str) -> None:
    engine.run("config", "set", "--path", path, value, "--stack", STACK)


def config_rm(engine, path: str) -> None:
    engine.run("config", "rm", "--path", path, "--stack", STACK)


def changes(report: dict) -> dict[str, str]:
    """Resource name -> operation of every step of a `preview --json` that is not `same`."""
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in report.get("steps", []) if step["op"] != "same"}


def of(service: str, steps: dict[str, str]) -> dict[str, str]:
    """The steps of one service's resources (its names all start with the service's name)."""
    return {name: op for name, op in steps.items() if name.startswith(f"{service}-")}


def applied(events: str) -> dict[str, str]:
    """Resource name -> operation of every step an `up --json --skip-preview` completed, but `same`.

    The output is one engine event a line; a replacement's logical step is `replace` (its
    create-replacement and delete-replaced steps are not logical)."""
    steps = {}
    for line in events.splitlines():
        done = json.loads(line).get("resOutputsEvent", {}).get("metadata", {})
        if done.get("logical") and done["op"] != "same":
            steps[done["urn"].rsplit("::", 1)[-1]] = done["op"]
    return steps


def up(engine, kube: KubeClient) -> dict[str, str]:
    """`pulumi up` as the runbook runs it; its steps, once every Deployment is Available and every pod Ready."""
    steps = applied(engine.run("up", "--yes", "--skip-preview", "--json", "--stack", STACK).stdout)
    namespaces = stack_namespaces(STACK)
    wait_until(f"{STACK}: every Deployment Available and every pod Ready",
               lambda: not convergence_problems(kube, namespaces), timeout=CONVERGE_SECONDS)
    return steps


# --- what the cluster serves ------------------------------------------------------------------------

def ready_pods(kube: KubeClient, namespace: str, **labels: str) -> set[str]:
    selector = ",".join(f"{key}={value}" for key, value in labels.items())
    return {pod["metadata"]["name"] for pod in kube.list("v1", "Pod", namespace, label_selector=selector)
            if is_true(pod, "Ready") and not pod["metadata"].get("deletionTimestamp")}


def endpoint_pods(kube: KubeClient, namespace: str, service: str) -> set[str]:
    """The pods behind a Service's ready endpoints, as the EndpointSlice controller publishes them."""
    slices = kube.list("discovery.k8s.io/v1", "EndpointSlice", namespace,
                       label_selector=f"kubernetes.io/service-name={service}")
    return {endpoint["targetRef"]["name"] for piece in slices for endpoint in piece.get("endpoints") or []
            if endpoint["conditions"].get("ready") and endpoint.get("targetRef", {}).get("kind") == "Pod"}


def assert_serves(kube: KubeClient, service: str, colour: str) -> set[str]:
    """The Service's ready endpoints are exactly the colour's ready pods (waiting for the controller)."""
    def served():
        pods = ready_pods(kube, BLUE_GREEN_NAMESPACE, app=BLUE_GREEN, version=colour)
        return pods if pods and endpoint_pods(kube, BLUE_GREEN_NAMESPACE, service) == pods else None

    return wait_until(f"Service {BLUE_GREEN_NAMESPACE}/{service} to serve exactly the {colour} pods "
                      f"(endpoints {sorted(endpoint_pods(kube, BLUE_GREEN_NAMESPACE, service))})", served, timeout=60)


def routes(kube: KubeClient, service: str, namespace: str) -> list[tuple[str, dict[str, int]]]:
    """The live VirtualService's HTTP routes: (name, {subset: weight}), in order."""
    live = kube.get("networking.istio.io/v1", "VirtualService", service, namespace)
    return [(route.get("name"), {target["destination"]["subset"]: target.get("weight") for target in route["route"]})
            for route in live["spec"]["http"]]


def canary_routes(weight: int) -> list[tuple[str, dict[str, int]]]:
    """README: the header route first (to the canary), then the split `100-w` / `w`."""
    return [("canary-header", {"canary": 100}), ("weighted", {"stable": 100 - weight, "canary": weight})]


AT_REST = [("weighted", {"stable": 100})]


def canary_deployment(kube: KubeClient, service: str, namespace: str) -> dict | None:
    return kube.get_or_none("apps/v1", "Deployment", f"{service}-canary", namespace)


def assert_canary_pods(kube: KubeClient, replicas: int, service: str = CANARY, namespace: str = CANARY_NAMESPACE):
    live = canary_deployment(kube, service, namespace)
    assert live is not None, f"{service}: no canary Deployment"
    assert live["spec"]["replicas"] == replicas, f"{service}-canary: {live['spec']['replicas']} pods, not {replicas}"
    assert len(ready_pods(kube, namespace, app=service, version="canary")) == replicas


def image_of(deployment: dict) -> str:
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


# --- the runbooks ---------------------------------------------------------------------------------

def test_blue_green_and_canary_runbooks_end_to_end(deployed, kube):
    engine = deployed
    bg, canary = f"services.{BLUE_GREEN}", f"services.{CANARY}"
    # At rest: only blue; both Services select it. No canary: the VirtualService sends all to stable.
    assert kube.get_or_none("apps/v1", "Deployment", f"{BLUE_GREEN}-green", BLUE_GREEN_NAMESPACE) is None
    blue = assert_serves(kube, BLUE_GREEN, "blue")
    assert assert_serves(kube, f"{BLUE_GREEN}-preview", "blue") == blue
    assert canary_deployment(kube, CANARY, CANARY_NAMESPACE) is None
    assert routes(kube, CANARY, CANARY_NAMESPACE) == AT_REST

    # Blue-green 1: green beside blue. Canary 1 (from rest): tag and 10 %. balance-service starts one too.
    config_set(engine, f"{bg}.blueGreen.green.tag", RELEASE)
    config_set(engine, f"{canary}.canary.tag", RELEASE)
    config_set(engine, f"{canary}.canary.weight", "10")
    config_set(engine, f"services.{ROLLED_BACK_CANARY}.canary.tag", RELEASE)
    config_set(engine, f"services.{ROLLED_BACK_CANARY}.canary.weight", "10")
    steps = up(engine, kube)
    assert of(BLUE_GREEN, steps) == {
        f"{BLUE_GREEN}-deployment-green": "create", f"{BLUE_GREEN}-hpa-green": "create",
        f"{BLUE_GREEN}-pdb-green": "create", f"{BLUE_GREEN}-preview-service": "update"}, steps
    assert of(CANARY, steps) == {f"{CANARY}-deployment-canary": "create",
                                 f"{CANARY}-virtual-service": "update"}, steps
    # 2. smoke test: the preview Service's endpoints are the green pods; the stable one still serves blue.
    green = assert_serves(kube, f"{BLUE_GREEN}-preview", "green")
    assert not green & blue and assert_serves(kube, BLUE_GREEN, "blue") == blue
    green_deployment = kube.get("apps/v1", "Deployment", f"{BLUE_GREEN}-green", BLUE_GREEN_NAMESPACE)
    assert image_of(green_deployment).endswith(f":{RELEASE}")
    assert routes(kube, CANARY, CANARY_NAMESPACE) == canary_routes(10)
    assert_canary_pods(kube, 1)       # ceil(stable floor 1 x 10 %)
    assert routes(kube, ROLLED_BACK_CANARY, ROLLED_BACK_NAMESPACE) == canary_routes(10)

    # Blue-green 3: switch (only the two selectors change). Canary: 50 % on 2 pods. balance-service:
    # rolled back by weight 0 (the header route keeps its pod), its tag removed in the next step.
    config_set(engine, f"{bg}.blueGreen.active", "green")
    config_set(engine, f"{canary}.canary.weight", "50")
    config_set(engine, f"{canary}.canary.replicas", "2")
    config_set(engine, f"services.{ROLLED_BACK_CANARY}.canary.weight", "0")
    steps = up(engine, kube)
    switch = {f"{BLUE_GREEN}-service": "update", f"{BLUE_GREEN}-preview-service": "update"}
    assert of(BLUE_GREEN, steps) == switch, steps
    assert assert_serves(kube, BLUE_GREEN, "green") == green
    assert assert_serves(kube, f"{BLUE_GREEN}-preview", "blue") == blue
    canary_step = {f"{CANARY}-deployment-canary": "update", f"{CANARY}-virtual-service": "update"}
    assert of(CANARY, steps) == canary_step, steps
    assert routes(kube, CANARY, CANARY_NAMESPACE) == canary_routes(50)
    assert_canary_pods(kube, 2)
    assert of(ROLLED_BACK_CANARY, steps) == {f"{ROLLED_BACK_CANARY}-virtual-service": "update"}, steps
    assert routes(kube, ROLLED_BACK_CANARY, ROLLED_BACK_NAMESPACE) == canary_routes(0)
    assert_canary_pods(kube, 1, ROLLED_BACK_CANARY, ROLLED_BACK_NAMESPACE)

    # Blue-green roll back before step 5: active back to blue (again only the selectors). Canary: 100 % on 3 pods.
    # balance-service: its canary tag removed, so the canary and its header route go.
    config_set(engine, f"{bg}.blueGreen.active", "blue")
    config_set(engine, f"{canary}.canary.weight", "100")
    config_set(engine, f"{canary}.canary.replicas", "3")
    config_rm(engine, f"services.{ROLLED_BACK_CANARY}.canary.tag")
    steps = up(engine, kube)
    assert of(BLUE_GREEN, steps) == switch, steps
    assert assert_serves(kube, BLUE_GREEN, "blue") == blue
    assert assert_serves(kube, f"{BLUE_GREEN}-preview", "green") == green
    assert of(CANARY, steps) == canary_step, steps
    assert routes(kube, CANARY, CANARY_NAMESPACE) == canary_routes(100)
    assert_canary_pods(kube, 3)
    assert of(ROLLED_BACK_CANARY, steps) == {f"{ROLLED_BACK_CANARY}-deployment-canary": "delete",
                                             f"{ROLLED_BACK_CANARY}-virtual-service": "update"}, steps
    assert canary_deployment(kube, ROLLED_BACK_CANARY, ROLLED_BACK_NAMESPACE) is None
    assert not ready_pods(kube, ROLLED_BACK_NAMESPACE, app=ROLLED_BACK_CANARY, version="canary")
    assert routes(kube, ROLLED_BACK_CANARY, ROLLED_BACK_NAMESPACE) == AT_REST

    # Switch again. Canary: promote (the canary image becomes stable and the canary goes away).
    config_set(engine, f"{bg}.blueGreen.active", "green")
    config_set(engine, f"{canary}.tag", RELEASE)
    config_set(engine, f"{canary}.canary.weight", "0")
    config_rm(engine, f"{canary}.canary.tag")
    config_rm(engine, f"{canary}.canary.replicas")
    steps = up(engine, kube)
    assert of(BLUE_GREEN, steps) == switch, steps
    assert of(CANARY, steps) == {f"{CANARY}-deployment-canary": "delete", f"{CANARY}-deployment-stable": "update",
                                 f"{CANARY}-virtual-service": "update"}, steps
    assert assert_serves(kube, BLUE_GREEN, "green") == green
    assert canary_deployment(kube, CANARY, CANARY_NAMESPACE) is None
    assert image_of(kube.get("apps/v1", "Deployment", CANARY, CANARY_NAMESPACE)).endswith(f":{RELEASE}")
    assert ready_pods(kube, CANARY_NAMESPACE, app=CANARY, version="stable")
    assert not ready_pods(kube, CANARY_NAMESPACE, app=CANARY, version="canary")
    assert routes(kube, CANARY, CANARY_NAMESPACE) == AT_REST

    # Blue-green 5: scale blue down: its Deployment to 0, its HPA and PDB deleted, the preview selects green.
    config_set(engine, f"{bg}.blueGreen.blue.replicas", "0")
    steps = up(engine, kube)
    assert of(BLUE_GREEN, steps) == {
        f"{BLUE_GREEN}-deployment-blue": "update", f"{BLUE_GREEN}-hpa-blue": "delete",
        f"{BLUE_GREEN}-pdb-blue": "delete", f"{BLUE_GREEN}-preview-service": "update"}, steps
    assert kube.get("apps/v1", "Deployment", f"{BLUE_GREEN}-blue", BLUE_GREEN_NAMESPACE)["spec"]["replicas"] == 0
    assert not ready_pods(kube, BLUE_GREEN_NAMESPACE, app=BLUE_GREEN, version="blue")
    for api, kind, suffix in (("autoscaling/v2", "HorizontalPodAutoscaler", "hpa"),
                              ("policy/v1", "PodDisruptionBudget", "pdb")):
        assert kube.get_or_none(api, kind, f"{BLUE_GREEN}-blue-{suffix}", BLUE_GREEN_NAMESPACE) is None, kind
    assert assert_serves(kube, BLUE_GREEN, "green") == green
    assert assert_serves(kube, f"{BLUE_GREEN}-preview", "green") == green
    assert engine.run("preview", "--expect-no-changes", "--stack", STACK).returncode == 0


# --- what the API server refuses in place ---------------------------------------------------------

def test_a_claims_class_change_is_previewed_and_applied_as_a_replacement(deployed, kube):
    """A PVC's spec is immutable but for its size: a new storage class replaces the claim (deleted first:
    the name is fixed)."""
    engine = deployed
    before = kube.get("v1", "PersistentVolumeClaim", CLAIM, BLUE_GREEN_NAMESPACE)
    assert before["spec"]["storageClassName"] == "fast-ssd"
    # Negative control: the API server really refuses the change in place, so a replacement is needed.
    with pytest.raises(ApiError) as refused:
        kube.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": CLAIM, "namespace": BLUE_GREEN_NAMESPACE},
                    "spec": {**before["spec"], "storageClassName": "standard"}},
                   field_manager="micropay-cluster-test", dry_run=True)
    assert refused.value.status == 422 and "immutable" in str(refused.value), refused.value
    config_set(engine, f"services.{BLUE_GREEN}.claims.{CLAIM}.storageClass", "standard")
    preview = json.loads(engine.run("preview", "--json", "--stack", STACK).stdout)
    assert changes(preview) == {CLAIM_RESOURCE: "replace"}, changes(preview)
    step = next(step for step in preview["steps"] if step["urn"].endswith(f"::{CLAIM_RESOURCE}"))
    assert step["diffReasons"] == ["spec"] and "spec.storageClassName" in step.get("detailedDiff", {}), step
    applied = up(engine, kube)
    assert of(BLUE_GREEN, applied) == {CLAIM_RESOURCE: "replace"}, applied
    after = kube.get("v1", "PersistentVolumeClaim", CLAIM, BLUE_GREEN_NAMESPACE)
    assert after["spec"]["storageClassName"] == "standard"
    assert after["metadata"]["uid"] != before["metadata"]["uid"], "the claim was not replaced"


# --- protected state ------------------------------------------------------------------------------

def kubernetes_resources(engine) -> list[dict]:
    exported = json.loads(engine.run("stack", "export", "--stack", STACK).stdout)["deployment"]["resources"]
    return [resource for resource in exported if resource["type"].startswith("kubernetes:")]


def live(kube: KubeClient, resource: dict) -> dict | None:
    outputs = resource["outputs"]
    return kube.get_or_none(outputs["apiVersion"], outputs["kind"], outputs["metadata"]["name"],
                            outputs["metadata"].get("namespace"))


def test_protected_resources_survive_destroy_and_are_retained_in_the_cluster(deployed, kube):
    """What production protects (namespaces holding state, claims): `destroy` refuses while protected;
    unprotected, it deletes everything else and leaves them in the cluster (retainOnDelete)."""
    settings, _, _ = stack_file_config("production")
    assert load_platform_config("production", settings).platform.protect_state
    engine = deployed
    config_set(engine, "platform.protectState", "true")
    up(engine, kube)
    resources = kubernetes_resources(engine)
    protected = [resource for resource in resources if resource.get("protect")]
    kinds = {resource["outputs"]["kind"] for resource in protected}
    assert kinds == {"Namespace", "PersistentVolumeClaim"}, kinds
    assert all(resource.get("retainOnDelete") for resource in protected)

    # As `make destroy` runs it: the preview refuses before anything is deleted. (With --skip-preview
    # the engine deletes every unprotected object first and stops only at the protected ones.)
    refused = engine.run("destroy", "--yes", "--stack", STACK, check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "protected" in output
    assert any(resource["urn"] in output for resource in protected), output[-2000:]
    missing = [resource["urn"] for resource in resources if live(kube, resource) is None]
    assert not missing, f"a refused destroy deleted: {missing}"

    engine.run("state", "unprotect", "--all", "--yes", "--stack", STACK)
    engine.run("destroy", "--yes", "--skip-preview", "--stack", STACK)
    gone = [resource["urn"] for resource in protected if live(kube, resource) is None]
    assert not gone, f"retainOnDelete did not keep: {gone}"
    left = [resource["urn"] for resource in resources if not resource.get("protect") and live(kube, resource)]
    assert not left, f"destroy left unprotected objects in the cluster: {left}"
