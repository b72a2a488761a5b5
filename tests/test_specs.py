"""Unit tests of the pure spec builders: no engine, no mocks."""

import pytest

from platform_config.models import Autoscaling, DisruptionBudget, PlatformSettings, ServiceSpec, VerticalAutoscaling
from specs import network, scaling, workload
from specs.delivery import rolling_plan
from specs.traffic import Party, Rule

SPRING_PROBES = {
    "startup": {"path": "/actuator/health", "periodSeconds": 5, "failureThreshold": 30},
    "liveness": {"path": "/actuator/health/liveness"},
    "readiness": {"path": "/actuator/health/readiness"},
}


def make_service(**override) -> ServiceSpec:
    spec = {"namespace": "team", "image": "registry.example/app", "tag": "1.2.3", "port": 8080,
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "probes": SPRING_PROBES}
    spec.update(override)
    return ServiceSpec.model_validate(spec)


PLATFORM = PlatformSettings(environment="production")


def pod_inputs():
    return workload.PodInputs(service_account="app-sa", config_map=None, config_checksum="0" * 64, env=[])


def test_deployment_omits_replicas_when_an_hpa_owns_it():
    service = make_service()
    plan = rolling_plan("app", service)
    body = workload.deployment("app", service, plan.tracks[0].track, PLATFORM, pod_inputs())
    assert "replicas" not in body["spec"]
    static = make_service(autoscaling={"enabled": False}, replicas=4)
    track = rolling_plan("app", static).tracks[0].track
    assert workload.deployment("app", static, track, PLATFORM, pod_inputs())["spec"]["replicas"] == 4


def test_pod_is_restricted_and_has_writable_tmp():
    service = make_service()
    body = workload.deployment("app", service, rolling_plan("app", service).tracks[0].track, PLATFORM, pod_inputs())
    pod = body["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    mount = next(item for item in container["volumeMounts"] if item["mountPath"] == "/tmp")
    assert {"name": mount["name"], "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]


def test_zone_spread_follows_topology_settings():
    service = make_service()
    track = rolling_plan("app", service).tracks[0].track
    single_zone = PlatformSettings(environment="development", topology={"zoneSpread": False})
    assert "topologySpreadConstraints" not in workload.deployment("app", service, track, single_zone,
                                                                  pod_inputs())["spec"]["template"]["spec"]


def test_checksum_changes_with_content():
    assert workload.checksum({"a": "1"}) == workload.checksum({"a": "1"})
    assert workload.checksum({"a": "1"}) != workload.checksum({"a": "2"})


def test_namespace_selector_check_refuses_labels_the_api_server_does_not_set():
    from invariants import check_namespace_selectors
    rule = Rule(Party("gateway", "monitoring", (("app", "prometheus"),)), (8080,))
    policy = {"metadata": {"name": "svc", "namespace": "core"},
              "spec": network.service_policy({"app": "svc"}, [rule], [], "kube-system")}
    assert check_namespace_selectors(policy) == []
    policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {"matchLabels": {"name": "monitoring"}}
    assert check_namespace_selectors(policy) == [
        "NetworkPolicy core/svc: ingress[0] selects namespaces by ['name'], not only kubernetes.io/metadata.name"]


def test_network_peer_is_namespace_and_pods_together():
    rule = Rule(Party("gateway", "core", (("app", "gateway"),)), (8080,))
    policy = network.service_policy({"app": "svc"}, [rule], [], "kube-system")
    assert policy["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "core"}},
                                            "podSelector": {"matchLabels": {"app": "gateway"}}}],
                                  "ports": [{"protocol": "TCP", "port": 8080}]}]
    assert policy["egress"][-1]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def test_managed_endpoint_becomes_an_ip_block():
    rule = Rule(Party("db", None, (), cidr="10.20.0.0/16"), (5432,))
    policy = network.service_policy({"app": "svc"}, [], [rule], "kube-system")
    assert policy["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]


def test_default_deny_selects_every_pod_and_allows_nothing():
    assert network.default_deny() == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_pdb_defaults_to_one_eviction_at_a_time():
    spec = scaling.disruption_budget({"app": "svc"}, DisruptionBudget())
    assert spec["maxUnavailable"] == 1
    assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_hpa_lists_resource_and_pods_metrics():
    scaling_spec = Autoscaling(minReplicas=5, maxReplicas=20, podsMetrics=[
        {"name": "http_requests_per_second", "averageValue": "100"}])
    spec = scaling.horizontal_autoscaler("svc", scaling_spec)
    assert [metric["type"] for metric in spec["metrics"]] == ["Resource", "Resource", "Pods"]
    assert spec["metrics"][2]["pods"]["target"] == {"type": "AverageValue", "averageValue": "100"}
    assert "behavior" not in spec


@pytest.mark.parametrize("hpa,vpa,mode,resources,warns", [
    (Autoscaling(), VerticalAutoscaling(enabled=True, updateMode="Auto"), "Off", ("cpu", "memory"), True),
    (Autoscaling(memoryUtilization=None), VerticalAutoscaling(enabled=True, updateMode="Auto"), "Auto",
     ("memory",), True),
    (Autoscaling(enabled=False), VerticalAutoscaling(enabled=True, updateMode="Auto"), "Auto", ("cpu", "memory"),
     False),
    (Autoscaling(), VerticalAutoscaling(enabled=True, updateMode="Off"), "Off", ("cpu", "memory"), False),
])
def test_vpa_never_acts_on_what_the_hpa_scales(hpa, vpa, mode, resources, warns):
    plan = scaling.plan_vertical_autoscaler("svc", hpa, vpa)
    assert (plan.update_mode, plan.controlled_resources, plan.warning is not None) == (mode, resources, warns)
