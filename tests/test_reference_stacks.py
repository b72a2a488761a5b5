"""The four other reference systems, reproduced by configuration alone."""

import copy

import pytest

from conftest import find, objects, rendered
from platform_config.loader import ConfigError
from platform_config.stack import stack_file_config
from platform_program import load
from specs.network import NAMESPACE_NAME_LABEL
from tools.render import diff_manifests


def container(deployment, index=0):
    return deployment["spec"]["template"]["spec"]["containers"][index]


def env_of(deployment):
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container(deployment)["env"]}


def probe_figures(probe):
    return (probe["httpGet"]["path"], probe["initialDelaySeconds"], probe["periodSeconds"], probe["timeoutSeconds"],
            probe["failureThreshold"])


# --- finance-service (seed 000) ----------------------------------------------------------------

def test_finance_week3_is_a_60_percent_canary_on_6_plus_4_pods():
    stable = find("finance-week3", "Deployment", "finance-service", "vextrus-production")
    canary = find("finance-week3", "Deployment", "finance-service-canary", "vextrus-production")
    assert stable["spec"]["replicas"] == 4
    assert "replicas" not in canary["spec"]  # its HPA owns it
    hpa = find("finance-week3", "HorizontalPodAutoscaler", "finance-service-canary-hpa")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (6, 12)
    assert [metric["resource"]["target"]["averageUtilization"] for metric in hpa["spec"]["metrics"]] == [65, 75]
    assert hpa["spec"]["behavior"]["scaleUp"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 50, "periodSeconds": 60}, {"type": "Pods", "value": 3, "periodSeconds": 60}]}
    assert hpa["spec"]["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]}
    split = {route["destination"]["subset"]: route["weight"]
             for route in find("finance-week3", "VirtualService", "finance-service")["spec"]["http"][1]["route"]}
    assert split == {"stable": 40, "canary": 60}
    pdb = find("finance-week3", "PodDisruptionBudget", "finance-service-canary-pdb")
    assert pdb["spec"]["minAvailable"] == 4


def test_finance_week3_canary_pods_carry_the_snapshot_release():
    canary = find("finance-week3", "Deployment", "finance-service-canary")
    main = container(canary)
    assert main["resources"] == {"requests": {"cpu": "600m", "memory": "1536Mi"},
                                 "limits": {"cpu": "1500m", "memory": "3Gi"}}
    assert main["livenessProbe"]["initialDelaySeconds"] == 60
    assert main["readinessProbe"]["initialDelaySeconds"] == 30
    assert (main["startupProbe"]["initialDelaySeconds"], main["startupProbe"]["periodSeconds"],
            main["startupProbe"]["failureThreshold"]) == (10, 10, 30)
    env = env_of(canary)
    assert env["SNAPSHOTS_ENABLED"] == "true" and env["SNAPSHOT_FREQUENCY"] == "50"
    assert env["EVENTSTORE_READ_BATCH_SIZE"] == "500" and env["EVENTSTORE_KEEP_ALIVE_TIMEOUT"] == "10000"
    assert canary["spec"]["template"]["metadata"]["labels"]["snapshot-enabled"] == "true"
    assert canary["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 0}
    assert canary["metadata"]["annotations"]["rollback.target"] == "stable"
    assert "kubernetes.io/change-cause" in canary["metadata"]["annotations"]
    pod = canary["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 60
    assert main["lifecycle"]["preStop"]["exec"]["command"][-1] == "sleep 10"
    annotations = canary["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == ("3014", "/metrics")
    stable = find("finance-week3", "Deployment", "finance-service")
    assert "SNAPSHOTS_ENABLED" not in env_of(stable)
    assert container(stable)["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


def test_finance_session_affinity_and_network_policy():
    for stack in ("finance-week3", "finance-week4"):
        service = find(stack, "Service", "finance-service")["spec"]
        assert service["sessionAffinity"] == "ClientIP"
        assert service["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 10800
        policy = find(stack, "NetworkPolicy", "finance-service")["spec"]
        assert policy["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {"app": "api-gateway"}
        assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 3014}]
        egress = {(rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app"), rule["ports"][0]["port"])
                  for rule in policy["egress"]}
        assert {("postgres", 5432), ("eventstore", 2113), ("kafka", 9092)} <= egress


def test_finance_week4_is_the_promotion():
    stable = find("finance-week4", "Deployment", "finance-service")
    assert not [item for item in objects("finance-week4", "Deployment") if item["metadata"]["name"].endswith("-canary")]
    assert container(stable)["image"].endswith("finance-service:2.3.0")
    hpa = find("finance-week4", "HorizontalPodAutoscaler", "finance-service-hpa")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (10, 25)
    assert find("finance-week4", "PodDisruptionBudget", "finance-service-pdb")["spec"]["minAvailable"] == 7
    assert stable["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 3, "maxUnavailable": 0}
    assert container(stable)["lifecycle"]["preStop"]["exec"]["command"][-1] == "sleep 15"
    assert "podAntiAffinity" in stable["spec"]["template"]["spec"]["affinity"]
    env = env_of(stable)
    assert env["NODE_OPTIONS"] == "--max-old-space-size=2048"
    assert env["SNAPSHOT_RETENTION_COUNT"] == "3"
    assert (env["DATABASE_POOL_SIZE"], env["KAFKA_CLIENT_ID"], env["OTEL_SERVICE_VERSION"]) == (
        "20", "finance-service-week4", "week4")
    monitor = objects("finance-week4", "ServiceMonitor")[0]
    assert monitor["spec"]["endpoints"][0]["relabelings"] == [
        {"sourceLabels": ["__meta_kubernetes_pod_label_snapshot_enabled"], "targetLabel": "snapshot_enabled"}]
    assert monitor["spec"]["endpoints"][0]["interval"] == "15s"
    alerts = {rule["alert"] for group in objects("finance-week4", "PrometheusRule")[0]["spec"]["groups"]
              for rule in group["rules"]}
    assert {"FinanceSnapshotCreationFailures", "FinanceSnapshotHighLatency",
            "FinanceEventStoreConnectionErrors"} <= alerts
    split = find("finance-week4", "VirtualService", "finance-service")["spec"]["http"]
    assert split == [{"name": "weighted", "route": [{"destination": {
        "host": "finance-service.vextrus-production.svc.cluster.local", "subset": "stable",
        "port": {"number": 3014}}, "weight": 100}]}]


def test_finance_week3_to_week4_reads_as_the_seed_promotion():
    diff = diff_manifests(rendered("finance-week3").manifests, rendered("finance-week4").manifests)
    namespace = "vextrus-production"
    assert diff["removed"] == {("Deployment", namespace, "finance-service-canary"),
                               ("HorizontalPodAutoscaler", namespace, "finance-service-canary-hpa"),
                               ("PodDisruptionBudget", namespace, "finance-service-canary-pdb")}
    assert diff["added"] == {("HorizontalPodAutoscaler", namespace, "finance-service-hpa")}
    assert {("Deployment", namespace, "finance-service"), ("VirtualService", namespace, "finance-service"),
            ("DestinationRule", namespace, "finance-service"), ("PodDisruptionBudget", namespace, "finance-service-pdb"),
            ("PrometheusRule", namespace, "finance-service-alerts")} <= diff["changed"]
    # Nothing outside the service's own objects moves (the namespace, its quota and policies stay).
    after = {(item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"]): item
             for item in rendered("finance-week4").manifests}
    assert all(after[key]["metadata"]["labels"].get("app") == "finance-service" for key in diff["changed"])


# --- financial-planning-api (seed 002) ---------------------------------------------------------

STACK = "planning-production"


def test_planning_scaling_vpa_and_budget():
    hpa = find(STACK, "HorizontalPodAutoscaler", "financial-planning-api-hpa", "financial-planning-prod")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (5, 20)
    assert hpa["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
        {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                  "target": {"type": "AverageValue", "averageValue": "100"}}}]
    vpa = find(STACK, "VerticalPodAutoscaler", "financial-planning-api-vpa")
    assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"
    assert find(STACK, "PodDisruptionBudget", "financial-planning-api-pdb")["spec"]["minAvailable"] == 3


def test_planning_pod_sidecar_init_probes_and_security():
    deployment = find(STACK, "Deployment", "financial-planning-api")
    pod = deployment["spec"]["template"]["spec"]
    main, shipper = pod["containers"]
    assert shipper["name"] == "log-shipper"
    assert shipper["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"cpu": "100m", "memory": "128Mi"}}
    (init,) = pod["initContainers"]
    assert init["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"},
                                 "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert main["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert probe_figures(main["startupProbe"]) == ("/health", 10, 5, 5, 20)
    assert probe_figures(main["livenessProbe"]) == ("/health", 30, 30, 10, 3)
    assert probe_figures(main["readinessProbe"]) == ("/health", 10, 10, 5, 3)
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 1}
    assert pod["securityContext"]["runAsUser"] == 1001
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"] for mount in main["volumeMounts"]}
    assert {"/tmp", "/app/logs", "/app/cache"} <= mounts
    assert {mount["mountPath"] for mount in shipper["volumeMounts"]} == {"/app/logs", "/fluent-bit/etc"}
    assert shipper["livenessProbe"]["httpGet"] == {"path": "/api/v1/health", "port": "health", "scheme": "HTTP"}
    assert shipper["readinessProbe"]["httpGet"]["path"] == "/api/v1/uptime"
    shipper_config = find(STACK, "ConfigMap", "financial-planning-api-log-shipper-config")["data"]["fluent-bit.conf"]
    assert "Health_Check  On" in shipper_config
    assert "Host          log-collector.logging.svc.cluster.local" in shipper_config


def test_planning_mesh_security_and_canary():
    assert find(STACK, "PeerAuthentication", "default", "financial-planning-prod")["spec"]["mtls"]["mode"] == "STRICT"
    request_auth = find(STACK, "RequestAuthentication", "financial-planning-api")["spec"]
    assert request_auth["jwtRules"][0]["issuer"] == "https://auth.company.com/"
    policy = find(STACK, "AuthorizationPolicy", "financial-planning-api")["spec"]
    (gateway_rule,) = [rule for rule in policy["rules"] if rule["from"][0]["source"].get("namespaces") == ["istio-system"]]
    assert gateway_rule["from"][0]["source"]["requestPrincipals"] == ["*"]
    http = find(STACK, "VirtualService", "financial-planning-api")["spec"]["http"]
    assert http[0]["match"] == [{"headers": {"canary": {"exact": "true"}}}]
    assert [route["weight"] for route in http[1]["route"]] == [90, 10]
    deny = [policy for policy in objects(STACK, "NetworkPolicy") if policy["metadata"]["name"] == "default-deny-all"]
    assert deny and deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_planning_is_reachable_through_an_ingress_with_tls():
    ingress = find(STACK, "Ingress", "financial-planning-api-ingress", "financial-planning-prod")
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod", "nginx.ingress.kubernetes.io/limit-rpm": "100",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true", "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
        "micropay.io/component": "MicroService/financial-planning-api"}
    assert (ingress["spec"]["tls"], ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]) == (
        [{"hosts": ["planning.company.com"], "secretName": "financial-planning-api-tls"}],
        {"name": "financial-planning-api", "port": {"number": 80}})
    # The controller may reach the pods: NetworkPolicy and AuthorizationPolicy admit it (with a JWT).
    policy = find(STACK, "NetworkPolicy", "financial-planning-api", "financial-planning-prod")["spec"]
    assert {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}} in [
        rule["from"][0] for rule in policy["ingress"]]
    rules = find(STACK, "AuthorizationPolicy", "financial-planning-api")["spec"]["rules"]
    (controller,) = [rule for rule in rules if rule["from"][0]["source"].get("namespaces") == ["ingress-nginx"]]
    assert controller["from"][0]["source"]["requestPrincipals"] == ["*"]


def test_planning_config_and_secrets():
    config = find(STACK, "ConfigMap", "financial-planning-api-config")["data"]
    assert config == {"ENVIRONMENT": "production", "DEBUG": "false", "WORKERS": "4", "DATABASE_POOL_SIZE": "20",
                      "RATE_LIMIT_REQUESTS_PER_MINUTE": "100"}
    secret = find(STACK, "Secret", "financial-planning-secrets")
    assert set(secret["stringData"]) == {"DATABASE_PASSWORD", "DATABASE_URL", "JWT_SECRET_KEY", "JWT_PRIVATE_KEY",
                                         "JWT_PUBLIC_KEY", "ALPHA_VANTAGE_API_KEY", "FINNHUB_API_KEY"}


@pytest.mark.parametrize("value", [None, "CHANGE_ME", "changeme"])
def test_planning_secrets_must_be_supplied(value):
    settings, secrets, _ = stack_file_config(STACK)
    secrets = dict(secrets)
    if value is None:
        del secrets["planning-jwt-secret-key"]
    else:
        secrets["planning-jwt-secret-key"] = value
    with pytest.raises(ConfigError) as caught:
        load(STACK, settings, secrets)
    assert "micropay-platform:planning-jwt-secret-key" in str(caught.value)
    assert "pulumi config set --secret planning-jwt-secret-key" in str(caught.value)


# --- user-service (seed 004) -------------------------------------------------------------------

def test_user_service_figures():
    deployment = find("user-service", "Deployment", "user-service", "microservices")
    main = container(deployment)
    assert main["ports"][0]["containerPort"] == 3002
    assert main["resources"] == {
        "requests": {"cpu": "200m", "memory": "256Mi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"}}
    assert main["livenessProbe"]["httpGet"]["path"] == "/api/health/live"
    assert main["readinessProbe"]["httpGet"]["path"] == "/api/health/ready"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1001
    assert pod["terminationGracePeriodSeconds"] == 30
    assert main["lifecycle"]["preStop"]["exec"]["command"][-1] == "sleep 15"
    assert deployment["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    assert find("user-service", "Namespace", "microservices")["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    hpa = find("user-service", "HorizontalPodAutoscaler", "user-service-hpa")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 15)
    vpa = find("user-service", "VerticalPodAutoscaler", "user-service-vpa")["spec"]
    assert vpa["updatePolicy"]["updateMode"] == "Off"  # Auto would fight the CPU/memory HPA
    assert any("user-service" in warning for warning in rendered("user-service").warnings)
    assert find("user-service", "PodDisruptionBudget", "user-service-pdb")["spec"]["minAvailable"] == 2
    role = find("user-service", "Role", "user-service-role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["microservices-secrets"]}]
    config = find("user-service", "ConfigMap", "user-service-config")["data"]
    assert config["REDIS_KEY_PREFIX"] == "user-service:" and config["LOG_FORMAT"] == "json"
    assert main["envFrom"] == [{"configMapRef": {"name": "user-service-config"}}]
    assert set(find("user-service", "Secret", "microservices-secrets")["stringData"]) == {
        "POSTGRES_USER_PASSWORD", "REDIS_PASSWORD", "ENCRYPTION_KEY", "INTERNAL_API_KEY"}
    monitor = objects("user-service", "ServiceMonitor")[0]["spec"]["endpoints"][0]
    assert monitor["interval"] == "15s"
    rules = objects("user-service", "PrometheusRule")[0]["spec"]["groups"][0]["rules"]
    assert len(rules) == 10
    policy = find("user-service", "NetworkPolicy", "user-service")["spec"]
    assert {port["port"] for port in policy["egress"][-1]["ports"]} == {53}


# --- example-service (seed 003) ----------------------------------------------------------------

def test_example_service_figures():
    deployment = find("example-service", "Deployment", "example-service")
    main = container(deployment)
    assert main["ports"][0] == {"name": "http", "containerPort": 8000, "protocol": "TCP"}
    for probe, path, period, threshold in (("startupProbe", "/api/v1/health/startup", 5, 30),
                                           ("livenessProbe", "/api/v1/health/live", 10, 3),
                                           ("readinessProbe", "/api/v1/health/ready", 5, 3)):
        assert main[probe] == {"httpGet": {"path": path, "port": "http", "scheme": "HTTP"}, "initialDelaySeconds": 0,
                               "periodSeconds": period, "timeoutSeconds": 3, "successThreshold": 1,
                               "failureThreshold": threshold}
    assert main["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"},
                                 "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert main["lifecycle"]["preStop"]["exec"]["command"] == ["/bin/sh", "-c", "sleep 15"]
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000
    assert set(find("example-service", "ConfigMap", "example-service-config")["data"]) == {
        "redis-url", "log-level", "enable-metrics"}
    assert env_of(deployment)["REDIS_URL"] == {"configMapKeyRef": {"name": "example-service-config", "key": "redis-url"}}
    assert set(find("example-service", "Secret", "example-service-secrets")["stringData"]) == {"database-url",
                                                                                            "jwt-secret"}
    hpa = find("example-service", "HorizontalPodAutoscaler", "example-service-hpa")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert [metric["resource"]["target"]["averageUtilization"] for metric in hpa["metrics"]] == [70, 80]


def test_canary_overrides_cannot_change_the_service_itself():
    settings, secrets, _ = stack_file_config("finance-week3")
    settings = copy.deepcopy(settings)
    settings["services"]["finance-service"]["canary"]["overrides"]["port"] = 9000
    with pytest.raises(ConfigError) as caught:
        load("finance-week3", settings, secrets)
    assert caught.value.problems == [("services.finance-service.canary.overrides.port", (
        "port belongs to the whole service, not the canary's pods; set it on the service; canary.autoscaling and "
        "canary.disruptionBudget size the canary"))]
