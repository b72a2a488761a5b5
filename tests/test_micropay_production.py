"""The production stack reproduces the figures of reference seed 001."""

import pytest

from conftest import find, objects

STACK = "production"
SERVICES = {
    # name: (namespace, port, cpu request, memory request, cpu limit, memory limit)
    "api-gateway": ("micropay-core", 8080, "500m", "1Gi", "2", "4Gi"),
    "config-server": ("micropay-core", 8888, "200m", "512Mi", "1", "2Gi"),
    "eureka-server": ("micropay-core", 8761, "200m", "512Mi", "1", "2Gi"),
    "user-service": ("micropay-user", 8081, "500m", "1Gi", "2", "4Gi"),
    "account-service": ("micropay-account", 8082, "500m", "1Gi", "2", "4Gi"),
    "payment-service": ("micropay-payment", 8083, "1", "2Gi", "4", "8Gi"),
    "transaction-service": ("micropay-transaction", 8084, "500m", "1Gi", "2", "4Gi"),
    "balance-service": ("micropay-balance", 8085, "1", "2Gi", "4", "8Gi"),
    "notification-service": ("micropay-notification", 8086, "500m", "1Gi", "2", "4Gi"),
    "fraud-detection-service": ("micropay-fraud", 8087, "1", "2Gi", "4", "8Gi"),
    "audit-service": ("micropay-audit", 8088, "500m", "1Gi", "2", "4Gi"),
    "reporting-service": ("micropay-reporting", 8089, "500m", "1Gi", "2", "4Gi"),
}


def main_container(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]


def deployments_of(service):
    return [item for item in objects(STACK, "Deployment") if item["metadata"]["labels"]["app"] == service]


def test_eleven_namespaces():
    assert {item["metadata"]["name"] for item in objects(STACK, "Namespace")} == {
        "micropay-core", "micropay-user", "micropay-account", "micropay-payment", "micropay-transaction",
        "micropay-balance", "micropay-notification", "micropay-fraud", "micropay-audit", "micropay-reporting",
        "micropay-infra"}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_resource_table(service):
    namespace, port, cpu_request, memory_request, cpu_limit, memory_limit = SERVICES[service]
    for deployment in deployments_of(service):
        assert deployment["metadata"]["namespace"] == namespace
        container = main_container(deployment)
        assert container["ports"][0] == {"name": "http", "containerPort": port, "protocol": "TCP"}
        assert container["resources"] == {"requests": {"cpu": cpu_request, "memory": memory_request},
                                          "limits": {"cpu": cpu_limit, "memory": memory_limit}}
    service_object = find(STACK, "Service", service, namespace)
    assert service_object["spec"]["type"] == "ClusterIP"
    assert service_object["spec"]["ports"][0]["name"] == "http"
    assert service_object["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_spring_probes_and_env(service):
    for deployment in deployments_of(service):
        container = main_container(deployment)
        assert container["startupProbe"]["httpGet"]["path"] == "/actuator/health"
        assert (container["startupProbe"]["initialDelaySeconds"], container["startupProbe"]["periodSeconds"],
                container["startupProbe"]["timeoutSeconds"], container["startupProbe"]["failureThreshold"]) == (10, 5, 3, 30)
        assert container["livenessProbe"]["httpGet"]["path"] == "/actuator/health/liveness"
        assert (container["livenessProbe"]["initialDelaySeconds"], container["livenessProbe"]["periodSeconds"],
                container["livenessProbe"]["timeoutSeconds"], container["livenessProbe"]["failureThreshold"]) == (60, 10, 5, 3)
        assert container["readinessProbe"]["httpGet"]["path"] == "/actuator/health/readiness"
        assert (container["readinessProbe"]["initialDelaySeconds"], container["readinessProbe"]["periodSeconds"],
                container["readinessProbe"]["timeoutSeconds"], container["readinessProbe"]["failureThreshold"]) == (30, 5, 3, 3)
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["SPRING_PROFILES_ACTIVE"] == "production"
        if service != "eureka-server":
            assert env["EUREKA_CLIENT_SERVICE_URL_DEFAULTZONE"] == \
                "http://eureka-server.micropay-core.svc.cluster.local:8761/eureka"
        if service not in ("config-server", "eureka-server"):
            assert env["SPRING_CLOUD_CONFIG_URI"] == "http://config-server.micropay-core.svc.cluster.local:8888"


def test_rolling_update_settings():
    for service in ("user-service", "account-service", "notification-service", "audit-service", "reporting-service"):
        for deployment in deployments_of(service):
            assert deployment["spec"]["strategy"] == {
                "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_hpa_for_all_but_config_and_eureka():
    targets = {hpa["spec"]["scaleTargetRef"]["name"].removesuffix("-blue").removesuffix("-green")
               .removesuffix("-stable") for hpa in objects(STACK, "HorizontalPodAutoscaler")}
    assert targets == set(SERVICES) - {"config-server", "eureka-server"}
    hpa = next(item for item in objects(STACK, "HorizontalPodAutoscaler")
               if item["metadata"]["namespace"] == "micropay-user")
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10)
    assert [(metric["resource"]["name"], metric["resource"]["target"]["averageUtilization"])
            for metric in spec["metrics"]] == [("cpu", 70), ("memory", 80)]
    assert spec["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                             "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}
    assert spec["behavior"]["scaleUp"] == {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 30}, {"type": "Pods", "value": 2, "periodSeconds": 30}]}


def test_config_and_eureka_have_static_replicas():
    for service in ("config-server", "eureka-server"):
        assert [deployment["spec"]["replicas"] for deployment in deployments_of(service)] == [2]


def test_user_service_vpa_does_not_fight_the_hpa():
    vpa = find(STACK, "VerticalPodAutoscaler", "user-service-vpa", "micropay-user")
    assert vpa["apiVersion"] == "autoscaling.k8s.io/v1"
    policy = vpa["spec"]["resourcePolicy"]["containerPolicies"][0]
    assert policy["minAllowed"] == {"cpu": "200m", "memory": "512Mi"}
    assert policy["maxAllowed"] == {"cpu": "4", "memory": "8Gi"}
    # The seed asks for Auto, but the HPA scales on CPU and memory: recommendation mode instead.
    assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"


def test_quota_and_limit_range_figures():
    # The seed's figures where no departure is needed (README's deviations table lists the others).
    quota = find(STACK, "ResourceQuota", "micropay-infra-quota", "micropay-infra")
    assert quota["spec"]["hard"] == {"requests.cpu": "20", "requests.memory": "40Gi", "limits.cpu": "40",
                                     "limits.memory": "80Gi", "persistentvolumeclaims": "10", "services": "10",
                                     "pods": "20"}
    assert find(STACK, "ResourceQuota", "micropay-user-quota", "micropay-user")["spec"]["hard"]["limits.cpu"] == "48"
    limits = find(STACK, "LimitRange", "micropay-user-limits", "micropay-user")
    assert limits["spec"]["limits"] == [{"type": "Container", "default": {"cpu": "2", "memory": "4Gi"},
                                         "defaultRequest": {"cpu": "500m", "memory": "1Gi"}}]


def test_payment_config_secret_and_claim():
    config = find(STACK, "ConfigMap", "payment-service-config", "micropay-payment")
    assert "bootstrap-servers: kafka.micropay-infra.svc.cluster.local:9092" in config["data"]["application.yml"]
    assert "port: 8083" in config["data"]["application.yml"]
    # Production fetches the credentials with the External Secrets Operator (test_platform_services).
    secret = find("staging", "Secret", "payment-service-secrets", "micropay-payment")
    assert set(secret["stringData"]) == {"db-username", "db-password", "kafka-username", "kafka-password"}
    claim = find(STACK, "PersistentVolumeClaim", "payment-db-pvc", "micropay-payment")
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                             "resources": {"requests": {"storage": "100Gi"}}}


def test_payment_rbac_is_least_privilege():
    role = find(STACK, "Role", "payment-service-role", "micropay-payment")
    # The seed's get/list on configmaps and secrets, with secrets narrowed to the service's own.
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["payment-service-secrets"]}]
    binding = find(STACK, "RoleBinding", "payment-service-rolebinding", "micropay-payment")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "payment-service-sa",
                                    "namespace": "micropay-payment"}]


def test_api_gateway_ingress():
    ingress = find(STACK, "Ingress", "api-gateway-ingress", "micropay-core")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/limit-rps"] == "100"
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["api.micropay.com"], "secretName": "api-gateway-tls"}]
    path = spec["rules"][0]["http"]["paths"][0]
    assert spec["rules"][0]["host"] == "api.micropay.com"
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "api-gateway", "port": {"number": 8080}}


def test_payment_network_policy_admits_the_gateway_as_one_peer():
    policy = find(STACK, "NetworkPolicy", "payment-service", "micropay-payment")
    gateway_rule = policy["spec"]["ingress"][0]
    assert gateway_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "micropay-core"}},
                                     "podSelector": {"matchLabels": {"app": "api-gateway"}}}]
    assert gateway_rule["ports"] == [{"protocol": "TCP", "port": 8083}]
    egress = {(rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app"), rule["ports"][0]["port"])
              for rule in policy["spec"]["egress"]}
    assert {("kafka", 9092), ("postgresql", 5432), ("config-server", 8888), ("eureka-server", 8761)} <= egress
    assert (None, 53) in {(rule["to"][0]["podSelector"]["matchLabels"].get("app"), rule["ports"][0]["port"])
                          for rule in policy["spec"]["egress"]}


def test_production_spreads_over_zones_and_hosts():
    for deployment in objects(STACK, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        spread = pod["topologySpreadConstraints"][0]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        assert spread["whenUnsatisfiable"] == "DoNotSchedule"
        assert "podAntiAffinity" in pod["affinity"]


def test_pods_drain_gracefully_and_are_scraped():
    for deployment in objects(STACK, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1] == "sleep 10"
        assert pod["terminationGracePeriodSeconds"] == 45
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/actuator/prometheus"
        assert len(annotations["checksum/config"]) == 64


# --- seed 001's moment of release ---------------------------------------------------------------

SEED_HPA = {"minReplicas": 3, "maxReplicas": 10, "metrics": [("cpu", 70), ("memory", 80)],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                       "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
                         "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                             {"type": "Percent", "value": 100, "periodSeconds": 30},
                             {"type": "Pods", "value": 2, "periodSeconds": 30}]}}}


def hpa_figures(hpa):
    spec = hpa["spec"]
    return {"minReplicas": spec["minReplicas"], "maxReplicas": spec["maxReplicas"],
            "metrics": [(metric["resource"]["name"], metric["resource"]["target"]["averageUtilization"])
                        for metric in spec["metrics"]], "behavior": spec["behavior"]}


@pytest.mark.parametrize("service", ["payment-service", "transaction-service"])
def test_green_deployed_beside_blue_with_blue_active(service):
    namespace = SERVICES[service][0]
    images = {colour: main_container(find(STACK, "Deployment", f"{service}-{colour}", namespace))["image"]
              for colour in ("blue", "green")}
    assert images == {"blue": f"registry.micropay.com/{service}:1.0.0",
                      "green": f"registry.micropay.com/{service}:1.1.0"}
    assert find(STACK, "Service", service, namespace)["spec"]["selector"] == {"app": service, "version": "blue"}
    assert find(STACK, "Service", f"{service}-preview", namespace)["spec"]["selector"] == {
        "app": service, "version": "green"}


@pytest.mark.parametrize("colour", ["blue", "green"])
def test_payment_autoscaler_per_colour_follows_the_document(colour):
    hpa = find(STACK, "HorizontalPodAutoscaler", f"payment-service-{colour}-hpa", "micropay-payment")
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"payment-service-{colour}"
    assert hpa_figures(hpa) == SEED_HPA
    # The autoscaler owns the replica count (README: how the document's `replicas: 5` relates).
    assert "replicas" not in find(STACK, "Deployment", f"payment-service-{colour}", "micropay-payment")["spec"]


@pytest.mark.parametrize("service", ["api-gateway", "balance-service"])
def test_canary_at_ten_percent_on_one_pod_with_the_header_route_first(service):
    namespace = SERVICES[service][0]
    canary = find(STACK, "Deployment", f"{service}-canary", namespace)
    assert canary["spec"]["replicas"] == 1
    assert main_container(canary)["image"] == f"registry.micropay.com/{service}:1.1.0"
    assert main_container(find(STACK, "Deployment", service, namespace))["image"] == \
        f"registry.micropay.com/{service}:1.0.0"
    header, weighted = find(STACK, "VirtualService", service, namespace)["spec"]["http"]
    assert header["match"] == [{"headers": {"canary": {"exact": "true"}}}]
    assert [(route["destination"]["subset"], route["weight"]) for route in header["route"]] == [("canary", 100)]
    assert [(route["destination"]["subset"], route["weight"]) for route in weighted["route"]] == [
        ("stable", 90), ("canary", 10)]
    assert [subset["name"] for subset in find(STACK, "DestinationRule", service, namespace)["spec"]["subsets"]] == [
        "stable", "canary"]


PAYMENT_SECRET_KEYS = {"db-username", "db-password", "kafka-username", "kafka-password"}


@pytest.mark.parametrize("stack", ["production", "staging", "development"])
def test_payment_secret_carries_the_four_keys_from_the_configured_source(stack):
    externals = [item for item in objects(stack, "ExternalSecret") if item["metadata"]["name"] == "payment-service-secrets"]
    if stack == "production":
        (external,) = externals
        assert {item["secretKey"] for item in external["spec"]["data"]} == PAYMENT_SECRET_KEYS
        assert not [item for item in objects(stack, "Secret") if item["metadata"]["name"] == "payment-service-secrets"]
    else:
        assert externals == []
        secret = find(stack, "Secret", "payment-service-secrets", "micropay-payment")
        assert set(secret["stringData"]) == PAYMENT_SECRET_KEYS
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in main_container(
        find(stack, "Deployment", "payment-service-blue", "micropay-payment"))["env"] if "valueFrom" in item
           and "secretKeyRef" in item["valueFrom"]}
    assert {(ref["name"], ref["key"]) for ref in env.values()} == {
        ("payment-service-secrets", key) for key in PAYMENT_SECRET_KEYS}
