"""Blue-green and Istio canary delivery: each release step is one reviewed config change."""

import copy
import json
from functools import lru_cache

import pytest

from conftest import STACKS, find, objects, rendered
from platform_config.loader import ConfigError, load_platform_config
from platform_config.models import Canary
from platform_config.stack import stack_file_config
from specs.delivery import canary_replicas, plan_for
from specs.istio import service_host, virtual_service
from tools.render import diff_manifests, render_config

SETTINGS, SECRETS, _ = stack_file_config("production")
MICROPAY = ("production", "staging", "development")


def render_with(services: dict):
    """Production with these service overrides; one render per distinct override (tests only read it)."""
    return _render(json.dumps(services, sort_keys=True))


@lru_cache(maxsize=None)
def _render(services: str):
    settings = copy.deepcopy(SETTINGS)
    settings.setdefault("services", {})
    for name, override in json.loads(services).items():
        settings["services"][name] = {**settings["services"].get(name, {}), **override}
    return render_config("production", settings, SECRETS)


def pick(result, kind, name):
    return next(item for item in result.manifests if item["kind"] == kind and item["metadata"]["name"] == name)


# Production is at release step 1 of both runbooks (README): green 1.1.0 deployed beside blue 1.0.0,
# and the api-gateway canary 1.1.0 at 10 % on one pod. The steps after it are these overrides.
PRODUCTION_BLUE_GREEN = SETTINGS["services"]["payment-service"]["blueGreen"]
assert PRODUCTION_BLUE_GREEN == {"active": "blue", "green": {"tag": "1.1.0"}}
GREEN_ACTIVE = {"payment-service": {"blueGreen": {"active": "green", "green": {"tag": "1.1.0"}}}}
BLUE_SCALED_DOWN = {"payment-service": {"blueGreen": {
    "active": "green", "blue": {"replicas": 0}, "green": {"tag": "1.1.0"}}}}


# --- blue-green -------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ("staging", "development"))
def test_at_rest_the_preview_selects_the_active_colour(stack):
    # No idle colour runs: like Argo Rollouts, the preview points at the active one, never at nothing.
    for service in ("payment-service", "transaction-service"):
        assert find(stack, "Service", f"{service}-preview")["spec"]["selector"] == {"app": service, "version": "blue"}
        assert not [item for item in objects(stack, "Deployment") if item["metadata"]["name"] == f"{service}-green"]


def test_stable_service_selects_the_active_colour_and_preview_the_idle_one():
    assert find("production", "Service", "payment-service")["spec"]["selector"] == {
        "app": "payment-service", "version": "blue"}
    assert find("production", "Service", "payment-service-preview")["spec"]["selector"] == {
        "app": "payment-service", "version": "green"}
    blue = find("production", "Deployment", "payment-service-blue")
    assert blue["spec"]["template"]["metadata"]["labels"]["version"] == "blue"
    assert blue["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.micropay.com/payment-service:1.0.0"


@pytest.mark.parametrize("stack", MICROPAY)
def test_both_blue_green_services_use_the_pair_in_every_stack(stack):
    for service in ("payment-service", "transaction-service"):
        find(stack, "Service", f"{service}-preview")
        find(stack, "Deployment", f"{service}-blue")


def test_switch_changes_only_the_service_selectors():
    before, after = rendered("production"), render_with(GREEN_ACTIVE)
    diff = diff_manifests(before.manifests, after.manifests)
    assert diff == {"added": set(), "removed": set(), "changed": {
        ("Service", "micropay-payment", "payment-service"),
        ("Service", "micropay-payment", "payment-service-preview")}}
    assert pick(after, "Service", "payment-service")["spec"]["selector"]["version"] == "green"
    assert pick(after, "Service", "payment-service-preview")["spec"]["selector"]["version"] == "blue"


def test_each_colour_has_its_own_hpa_and_pdb_and_no_static_replicas():
    result = rendered("production")
    for colour in ("blue", "green"):
        deployment = pick(result, "Deployment", f"payment-service-{colour}")
        assert "replicas" not in deployment["spec"]
        hpa = pick(result, "HorizontalPodAutoscaler", f"payment-service-{colour}-hpa")
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"payment-service-{colour}"
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
        pdb = pick(result, "PodDisruptionBudget", f"payment-service-{colour}-pdb")
        assert pdb["spec"]["selector"]["matchLabels"] == {"app": "payment-service", "version": colour}


def test_idle_colour_scales_down_by_config():
    result = render_with(BLUE_SCALED_DOWN)
    assert pick(result, "Deployment", "payment-service-blue")["spec"]["replicas"] == 0
    names = {item["metadata"]["name"] for item in result.manifests}
    assert "payment-service-blue-hpa" not in names and "payment-service-blue-pdb" not in names
    assert "payment-service-green-hpa" in names
    # With no blue pods left the preview follows the active colour instead of selecting nothing.
    assert pick(result, "Service", "payment-service-preview")["spec"]["selector"]["version"] == "green"
    diff = diff_manifests(render_with(GREEN_ACTIVE).manifests, result.manifests)
    assert diff["changed"] == {("Deployment", "micropay-payment", "payment-service-blue"),
                               ("Service", "micropay-payment", "payment-service-preview")}
    assert diff["removed"] == {("HorizontalPodAutoscaler", "micropay-payment", "payment-service-blue-hpa"),
                               ("PodDisruptionBudget", "micropay-payment", "payment-service-blue-pdb")}


@pytest.mark.parametrize("blue_green,key,words", [
    ({"active": "green", "blue": {"tag": "1.0.0"}}, "blueGreen.active", "active colour 'green' has no image tag"),
    ({"active": "green", "blue": {"tag": "1.0.0"}, "green": {"tag": "1.1.0", "replicas": 0}}, "blueGreen.active",
     "scaled to 0 replicas"),
    ({"active": "purple", "blue": {"tag": "1.0.0"}}, "blueGreen.active", "'blue' or 'green'"),
    ({"active": "blue", "blue": {"tag": "1.0.0", "replicas": 12}}, "blueGreen.blue.replicas",
     "above its autoscaling.maxReplicas (10)"),
])
def test_refuses_a_colour_that_cannot_serve(blue_green, key, words):
    with pytest.raises(ConfigError) as caught:
        render_with({"payment-service": {"blueGreen": blue_green}})
    [(problem_key, message)] = caught.value.problems
    assert problem_key == f"services.payment-service.{key}" and words in message


def test_blue_green_exports():
    outputs = render_with(GREEN_ACTIVE).outputs["services"]["payment-service"]
    assert outputs["activeColour"] == "green"
    assert outputs["images"] == {"blue": "registry.micropay.com/payment-service:1.0.0",
                                 "green": "registry.micropay.com/payment-service:1.1.0"}
    assert (outputs["serviceName"], outputs["previewServiceName"]) == ("payment-service", "payment-service-preview")


# --- canary -----------------------------------------------------------------------------------

def canary(weight, tag="1.1.0", **extra):
    return {"api-gateway": {"canary": {"tag": tag, "weight": weight, **extra}}}


def routes(result, name="api-gateway"):
    return pick(result, "VirtualService", name)["spec"]["http"]


GATEWAY = load_platform_config("production", SETTINGS).services["api-gateway"]


def gateway_with_canary(**canary):
    return GATEWAY.model_copy(update={"canary": Canary.model_validate(canary)})


@pytest.mark.parametrize("weight", (0, 10, 50, 100))
def test_header_route_comes_first_and_weights_sum_to_100(weight):
    spec = gateway_with_canary(tag="1.1.0", weight=weight)
    has_canary = any(track.track.version == "canary" for track in plan_for("api-gateway", spec).tracks)
    http = virtual_service(service_host("api-gateway", spec.namespace), spec.exposed_port, spec.canary,
                           has_canary)["http"]
    assert http[0] == {"name": "canary-header", "match": [{"headers": {"canary": {"exact": "true"}}}], "route": [
        {"destination": {"host": "api-gateway.micropay-core.svc.cluster.local", "subset": "canary",
                         "port": {"number": 8080}}, "weight": 100}]}
    split = {route["destination"]["subset"]: route["weight"] for route in http[1]["route"]}
    assert split == {"stable": 100 - weight, "canary": weight}


def test_seed_canary_is_ten_percent_on_one_pod():
    result = rendered("production")
    canary_deployment = pick(result, "Deployment", "api-gateway-canary")
    assert canary_deployment["spec"]["replicas"] == 1
    assert canary_deployment["spec"]["template"]["metadata"]["labels"]["version"] == "canary"
    assert canary_deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith("api-gateway:1.1.0")
    stable = pick(result, "Deployment", "api-gateway")
    assert stable["spec"]["template"]["metadata"]["labels"]["version"] == "stable"
    assert "replicas" not in stable["spec"]
    assert pick(result, "Service", "api-gateway")["spec"]["selector"] == {"app": "api-gateway"}


@pytest.mark.parametrize("canary_settings,replicas", [
    ({"weight": 0}, 1), ({"weight": 10}, 1), ({"weight": 50}, 2), ({"weight": 100}, 3),
    ({"weight": 10, "replicas": 2}, 2), ({"weight": 10, "autoscaling": {"minReplicas": 2, "maxReplicas": 4}}, 2),
])
def test_canary_replicas_follow_the_weight_unless_set(canary_settings, replicas):
    # The stable floor of api-gateway in production is 3 pods (autoscaling.minReplicas); a canary at 0 %
    # keeps one pod while its tag is set, so its header route is never left without a backend.
    assert GATEWAY.autoscaling.min_replicas == 3
    assert canary_replicas(gateway_with_canary(tag="1.1.0", **canary_settings)) == replicas


def test_every_subset_matches_exactly_one_deployment():
    result = rendered("production")
    rule = pick(result, "DestinationRule", "api-gateway")
    assert rule["apiVersion"] == "networking.istio.io/v1"
    gateways = [item for item in result.manifests if item["kind"] == "Deployment"
                and item["metadata"]["namespace"] == "micropay-core"
                and item["spec"]["template"]["metadata"]["labels"]["app"] == "api-gateway"]
    for subset in rule["spec"]["subsets"]:
        matching = [deployment for deployment in gateways if all(
            deployment["spec"]["template"]["metadata"]["labels"].get(key) == value
            for key, value in subset["labels"].items())]
        assert len(matching) == 1, subset
    policy = rule["spec"]["trafficPolicy"]
    assert policy["outlierDetection"]["consecutive5xxErrors"] == 5
    assert policy["connectionPool"]["http"]["http1MaxPendingRequests"] == 100


def test_starting_a_canary_from_rest_leaves_the_destination_rule_alone():
    at_rest = render_with({"api-gateway": {"canary": {"weight": 0}}})
    assert routes(at_rest)[0]["name"] == "weighted"
    diff = diff_manifests(at_rest.manifests, rendered("production").manifests)
    assert diff == {"added": {("Deployment", "micropay-core", "api-gateway-canary")}, "removed": set(),
                    "changed": {("VirtualService", "micropay-core", "api-gateway")}}


def test_weight_step_changes_only_the_split_and_canary_replicas():
    # From production's one pod at 10 % to 50 %, the canary's pods following the weight (2 of a floor of 3).
    diff = diff_manifests(rendered("production").manifests, render_with(canary(50)).manifests)
    assert diff == {"added": set(), "removed": set(), "changed": {
        ("VirtualService", "micropay-core", "api-gateway"),
        ("Deployment", "micropay-core", "api-gateway-canary")}}


def test_promotion_makes_the_canary_stable_and_removes_it():
    promoted = render_with({"api-gateway": {"tag": "1.1.0", "canary": {"weight": 0}}})
    names = {item["metadata"]["name"] for item in promoted.manifests if item["metadata"].get("namespace") == "micropay-core"}
    assert "api-gateway-canary" not in names
    assert pick(promoted, "Deployment", "api-gateway")["spec"]["template"]["spec"]["containers"][0]["image"] \
        .endswith("api-gateway:1.1.0")
    # At rest both subsets stay declared (the next release step only adds pods and routes).
    assert pick(promoted, "DestinationRule", "api-gateway")["spec"]["subsets"] == [
        {"name": "stable", "labels": {"version": "stable"}}, {"name": "canary", "labels": {"version": "canary"}}]
    assert routes(promoted) == [{"name": "weighted", "route": [{"destination": {
        "host": "api-gateway.micropay-core.svc.cluster.local", "subset": "stable", "port": {"number": 8080}},
        "weight": 100}]}]
    assert promoted.outputs["services"]["api-gateway"]["canaryWeight"] == 0


@pytest.mark.parametrize("override,key,words", [
    (canary(130), "canary.weight", "less than or equal to 100"),
    (canary(-5), "canary.weight", "greater than or equal to 0"),
    ({"api-gateway": {"canary": {"weight": 10}}}, "canary.tag", "without an image"),
    (canary(10, header="canary version"), "canary.header", "not a valid HTTP header name"),
    (canary(10, annotations={"deployment.kubernetes.io/revision": "week3"}), "canary.annotations",
     "Deployment controller"),
])
def test_invalid_canary_configs_are_rejected(override, key, words):
    with pytest.raises(ConfigError) as caught:
        render_with(override)
    [(problem_key, message)] = caught.value.problems
    assert problem_key == f"services.api-gateway.{key}" and words in message


def test_rollback_annotations_and_session_affinity():
    result = render_with({"api-gateway": {
        "annotations": {"kubernetes.io/change-cause": "1.0.0 stable", "rollback.target": "1.0.0"},
        "sessionAffinityTimeoutSeconds": 10800,
        "canary": {"tag": "1.1.0", "weight": 60, "annotations": {"kubernetes.io/change-cause": "1.1.0 canary 60%",
                                                                 "rollback.target": "stable"},
                   "trafficPolicy": {"consistentHash": "sourceIp"}}}})
    assert pick(result, "Deployment", "api-gateway-canary")["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "1.1.0 canary 60%", "rollback.target": "stable",
        "micropay.io/component": "MicroService/api-gateway"}
    assert pick(result, "Deployment", "api-gateway")["metadata"]["annotations"]["rollback.target"] == "1.0.0"
    service = pick(result, "Service", "api-gateway")["spec"]
    assert service["sessionAffinity"] == "ClientIP"
    assert service["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert pick(result, "DestinationRule", "api-gateway")["spec"]["trafficPolicy"]["loadBalancer"] == {
        "consistentHash": {"useSourceIp": True}}


@pytest.mark.parametrize("stack", STACKS)
def test_every_canary_declares_both_subsets_and_routes_the_header_first(stack):
    for rule in objects(stack, "DestinationRule"):
        name, namespace = rule["metadata"]["name"], rule["metadata"]["namespace"]
        assert [subset["name"] for subset in rule["spec"]["subsets"]] == ["stable", "canary"], (stack, name)
        http = find(stack, "VirtualService", name, namespace)["spec"]["http"]
        has_canary = any(item["metadata"]["name"] == f"{name}-canary" for item in objects(stack, "Deployment"))
        assert (http[0]["name"] == "canary-header") == has_canary, (stack, name)
        assert http[-1]["name"] == "weighted"


@pytest.mark.parametrize("stack", MICROPAY)
def test_canary_services_in_every_micropay_stack(stack):
    for service in ("api-gateway", "balance-service"):
        find(stack, "VirtualService", service)
        find(stack, "DestinationRule", service)
