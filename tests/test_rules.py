"""Kubernetes' own rules and the controllers' formats, checked before registration (platform_config/rules.py).

Each row changes one thing in a committed stack's config and expects exactly one problem, with
its exact key path, words of the message and words of the fix.
"""

from __future__ import annotations

import copy

import pytest

from conftest import ROOT, STACKS, objects
from platform_config.loader import ConfigError
from platform_config.rules import LONGEST_DERIVED_SUFFIX, config_problems
from platform_config.stack import stack_file_config
from platform_config.yaml_source import load_yaml
from platform_program import load
from specs.workload import helper_config_map

PLANNING_CATALOG = load_yaml((ROOT / "catalogs" / "planning.yaml").read_text())
A_REAL_SECRET = "kT9#vQ2$wL8!pZ4&"


def stack_input(stack: str) -> tuple[dict, dict]:
    settings, secrets, _ = stack_file_config(stack)
    return copy.deepcopy(settings), {key: A_REAL_SECRET for key in secrets}


def setting(settings: dict, path: str, value) -> dict:
    """Set a dotted key path (the `pulumi config set --path` form) in a stack's settings."""
    *parents, last = path.split(".")
    node = settings
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return settings


def planning_helper(group: str, **change) -> list[dict]:
    helpers = copy.deepcopy(PLANNING_CATALOG["services"]["financial-planning-api"][group])
    helpers[0].update(change)
    return helpers


def planning_ports_sidecar(**ports) -> list[dict]:
    return planning_helper("sidecars", ports=ports)


DEV, PROD, PLAN = "development", "production", "planning-production"
US = "services.user-service"
FP = "services.financial-planning-api"

CASES = [
    # (id, stack, key path to set, value, expected problem key, words of message, words of fix)
    ("label-overrides-app", DEV, f"{US}.labels", {"app": "x"}, f"{US}.labels.app",
     "sets 'app' itself", "choose another label name"),
    ("label-key-with-space", DEV, f"{US}.labels", {"team name": "a"}, f"{US}.labels.team name",
     "not a valid label name", "at most 63"),
    ("label-prefix-invalid", DEV, f"{US}.labels", {"Example.COM/team": "a"}, f"{US}.labels.Example.COM/team",
     "not a valid label name", "DNS prefix"),
    ("label-value-too-long", DEV, f"{US}.labels", {"team": "a" * 64}, f"{US}.labels.team",
     "not a valid label value", "at most 63"),
    ("label-value-with-slash", DEV, f"{US}.labels", {"owner": "team/payments"}, f"{US}.labels.owner",
     "not a valid label value", "annotations"),
    ("tag-too-long-for-version-label", DEV, f"{US}.tag", "1." + "0" * 70, f"{US}.tag",
     "app.kubernetes.io/version label", "shorter tag"),
    ("canary-tag-too-long", DEV, "services.api-gateway.canary", {"tag": "v" * 64, "weight": 10},
     "services.api-gateway.canary.tag", "app.kubernetes.io/version", "shorter tag"),
    ("memory-in-millibytes", DEV, f"{US}.resources", {"requests": {"memory": "256m"}, "limits": {"memory": "1Gi"}},
     f"{US}.resources.requests.memory", "a fraction of a byte", "256Mi"),
    ("memory-without-unit", DEV, f"{US}.resources", {"requests": {"memory": "256"}, "limits": {"memory": "1Gi"}},
     f"{US}.resources.requests.memory", "less than the 4Mi", "256Mi"),
    ("cpu-request-zero", DEV, f"{US}.resources", {"requests": {"cpu": "0"}, "limits": {"cpu": "500m"}},
     f"{US}.resources.requests.cpu", "leaves the container nothing", "positive amount"),
    ("claim-size-zero", PROD, "services.payment-service.claims", {"payment-db-pvc": {"size": "0",
                                                                                    "storageClass": "fast-ssd"}},
     "services.payment-service.claims.payment-db-pvc.size", "cannot size a volume", "10Gi"),
    ("claim-size-in-millibytes", PROD, "services.payment-service.claims", {"payment-db-pvc": {
        "size": "100m", "storageClass": "fast-ssd"}}, "services.payment-service.claims.payment-db-pvc.size",
     "cannot size a volume", "whole, positive"),
    ("limit-range-request-above-limit", DEV, "namespaces", {"micropay-user": {"limits": {
        "default": {"cpu": "1", "memory": "1Gi"}, "defaultRequest": {"cpu": "2", "memory": "512Mi"}}}},
     "namespaces.micropay-user.limits.defaultRequest.cpu", "above the default limit (1)", "at most 1"),
    ("sidecar-memory-in-millibytes", PLAN, f"{FP}.sidecars", planning_helper("sidecars", resources={
        "requests": {"cpu": "50m", "memory": "64m"}, "limits": {"cpu": "100m", "memory": "128Mi"}}),
     f"{FP}.sidecars.0.resources.requests.memory", "fraction of a byte", "64Mi"),
    ("probe-port-undeclared-name", DEV, f"{US}.probes.readiness.port", "admin", f"{US}.probes.readiness.port",
     "declares no port named 'admin'", "http"),
    ("probe-port-out-of-range", DEV, f"{US}.probes.liveness.port", 70000, f"{US}.probes.liveness.port",
     "outside 1-65535", "declared port"),
    ("probe-port-metrics-undeclared", DEV, f"{US}.probes.startup.port", "metrics", f"{US}.probes.startup.port",
     "no port named 'metrics'", "one of: http"),
    ("metrics-port-istio-reserved", DEV, f"{US}.observability", {"metricsPort": 15020},
     f"{US}.observability.metricsPort", "reserved by the Istio sidecar", "outside 15000-15090"),
    ("service-port-istio-reserved", DEV, f"{US}.port", 15001, f"{US}.port", "reserved by the Istio sidecar",
     "outside 15000-15090"),
    ("sidecar-port-clashes-with-service", PLAN, f"{FP}.sidecars", planning_ports_sidecar(health=8000),
     f"{FP}.sidecars.0.ports.health", "already used by services.financial-planning-api.port", "another port"),
    ("sidecar-port-name-invalid", PLAN, f"{FP}.sidecars", planning_ports_sidecar(health=2020, Health_Port=2021),
     f"{FP}.sidecars.0.ports.Health_Port", "not a valid port name", "at most 15"),
    ("sidecar-port-name-taken", PLAN, f"{FP}.sidecars", planning_ports_sidecar(health=2020, http=2021),
     f"{FP}.sidecars.0.ports.http", "already names a port 'http'", "rename"),
    ("sidecar-probe-port-undeclared", PLAN, f"{FP}.sidecars", planning_helper("sidecars", probes={
        **PLANNING_CATALOG["services"]["financial-planning-api"]["sidecars"][0]["probes"],
        "readiness": {"path": "/api/v1/uptime", "port": "status"}}),
     f"{FP}.sidecars.0.probes.readiness.port", "no port named 'status'", "health"),
    ("helper-config-map-name-too-long", PLAN, f"{FP}.sidecars", planning_helper("sidecars", name="l" * 40),
     f"{FP}.sidecars.0.name", "would be named 'financial-planning-api-" + "l" * 40 + "-config'", "shorter name"),
    ("env-and-secret-define-one-var", DEV, "services.payment-service.env", {"DB_PASSWORD": "x"},
     "catalogs/micropay.yaml: services.payment-service.secrets.0.keys.db-password.env", "DB_PASSWORD is also set by "
     "services.payment-service.env.DB_PASSWORD", "one place"),
    ("configmap-key-with-space", DEV, f"{US}.configData", {"log level": "INFO"}, f"{US}.configData.log level",
     "not a valid ConfigMap/Secret key", "letters, digits"),
    ("secret-key-with-space", DEV, "services.payment-service.secrets",
     [{"keys": {"db password": {"env": "DB_PASSWORD"}}}], "services.payment-service.secrets.0.keys.db password",
     "not a valid ConfigMap/Secret key", "letters, digits"),
    ("two-containers-one-name", PLAN, f"{FP}.sidecars", planning_helper("sidecars", name="migrate"),
     f"catalogs/planning.yaml: {FP}.initContainers.0.name",
     f"{FP}.sidecars.0.name already names a container of the pod 'migrate'",
     "its own name"),
    ("sidecar-mounts-undeclared-path", PLAN, f"{FP}.sidecars", planning_helper("sidecars", mounts={"/var/log": "/logs"}),
     f"{FP}.sidecars.0.mounts./var/log", "not one of the service's writablePaths", "writablePaths"),
    ("sidecar-mounts-one-path-twice", PLAN, f"{FP}.sidecars",
     planning_helper("sidecars", mounts={"/app/logs": "/logs", "/tmp": "/logs"}), f"{FP}.sidecars.0.mounts",
     "'/logs' is mounted 2 times", "once"),
    ("claim-mounted-over-writable-path", PROD, "services.payment-service.claims",
     {"payment-db-pvc": {"size": "100Gi", "storageClass": "fast-ssd", "mountPath": "/tmp",
                         "accessMode": "ReadWriteMany"}}, "services.payment-service", "'/tmp' is mounted 2 times",
     "once"),
    ("ingress-host-with-scheme", DEV, "services.api-gateway.ingress.host", "https://api.micropay.localhost",
     "services.api-gateway.ingress.host", "not a host name", "no scheme"),
    ("ingress-host-with-capitals", DEV, "services.api-gateway.ingress.host", "API.micropay.localhost",
     "services.api-gateway.ingress.host", "not a host name", "lower-case"),
    ("ingress-host-with-port", DEV, "services.api-gateway.ingress.host", "api.micropay.localhost:8443",
     "services.api-gateway.ingress.host", "not a host name", "no scheme, port"),
    ("ingress-relative-path", DEV, "services.api-gateway.ingress.path", "api", "services.api-gateway.ingress.path",
     "relative", "'/api'"),
    ("ingress-tls-secret-invalid", DEV, "services.api-gateway.ingress.tlsSecret", "API_TLS",
     "services.api-gateway.ingress.tlsSecret", "not a valid Secret name", "lower-case"),
    ("ingress-without-controller-peer", DEV, "platform.ingressFrom", None, "services.api-gateway.ingress",
     "admits no ingress controller", "platform.ingressFrom"),
    ("two-ingresses-one-route", DEV, f"{US}.ingress", {"host": "api.micropay.localhost"}, f"{US}.ingress.host",
     "already routed to api-gateway", "another host or path"),
    ("two-secrets-one-name", DEV, "services.payment-service.secrets",
     [{"name": "shared", "keys": {"a": {"env": "A"}}}, {"name": "shared", "keys": {"b": {"env": "B"}}}],
     "services.payment-service.secrets.1.name", "also written by services.payment-service.secrets.0.name",
     "its own name"),
    ("static-password", DEV, "services.payment-service.secrets", [{"keys": {
        "db-password": {"source": "static", "value": "in-the-open", "env": "DB_PASSWORD"}}}],
     "services.payment-service.secrets.0.keys.db-password.value", "'db-password' (env DB_PASSWORD) looks like a "
     "credential", "pulumi config set --secret payment-service-db-password <value>"),
    ("static-credential-named-by-its-env", DEV, "services.payment-service.secrets", [{"keys": {
        "db-auth": {"source": "static", "value": "in-the-open", "env": "DB_PASSWD"}}}],
     "services.payment-service.secrets.0.keys.db-auth.value", "(env DB_PASSWD) looks like a credential",
     "set source: provided"),
    ("static-source-of-the-whole-secret", DEV, "services.payment-service.secrets", [{"source": "static", "keys": {
        "API_KEY": {"value": "in-the-open", "configKey": "payment-api-key"}}}],
     "services.payment-service.secrets.0.keys.API_KEY.value", "'API_KEY' looks like a credential",
     "pulumi config set --secret payment-api-key <value>"),
    ("static-tls-private-key", DEV, "services.payment-service.secrets", [{"keys": {
        "tls.key": {"source": "static", "value": "-----BEGIN PRIVATE KEY-----"}}}],
     "services.payment-service.secrets.0.keys.tls.key.value", "looks like a credential", "not sensitive"),
    ("static-token-beside-external-keys", PROD, "services.payment-service.secrets", [{"keys": {
        "db-password": {"remoteProperty": "password"}, "webhook-token": {"source": "static", "value": "t0k3n"}}}],
     "services.payment-service.secrets.0.keys.webhook-token.value", "looks like a credential", "source: provided"),
    ("static-key-without-a-value", DEV, "services.payment-service.secrets", [{"keys": {
        "db-username": {"source": "static", "env": "DB_USER"}}}], "services.payment-service.secrets.0.keys.db-username",
     "its source is static", "add value"),
    ("static-secret-with-a-key-without-value", DEV, "services.payment-service.secrets", [{"source": "static", "keys": {
        "db-username": {"value": "payments"}, "db-schema": {}}}], "services.payment-service.secrets.0.keys.db-schema",
     "takes the value from `value`", "choose another source"),
    ("plain-value-of-a-provided-key", DEV, "services.payment-service.secrets", [{"keys": {
        "db-password": {"source": "provided", "value": "in-the-open"}}}],
     "services.payment-service.secrets.0.keys.db-password.value", "must not be written in plain text",
     "pulumi config set --secret payment-service-db-password <value>"),
    ("secret-name-invalid", DEV, "services.payment-service.secrets", [{"name": "Payment_Secrets",
                                                                       "keys": {"a": {"env": "A"}}}],
     "services.payment-service.secrets.0.name", "not a valid Secret name", "lower-case"),
    ("managed-endpoint-without-host", DEV, "endpoints", {"kafka": {"namespace": None, "podLabels": None,
                                                                   "cidr": "10.20.0.0/16"}},
     "endpoints.kafka.host", "kafka.None.svc", "DNS name"),
    ("endpoint-cidr-prefix-too-long", DEV, "endpoints", {"config-git": {"cidr": "10.0.0.0/33"}},
     "endpoints.config-git.cidr", "not an address range", "address/prefix"),
    ("endpoint-cidr-not-an-address", DEV, "endpoints", {"config-git": {"cidr": "git.micropay.com/32"}},
     "endpoints.config-git.cidr", "not an address range", "10.20.0.0/16"),
    ("strict-mtls-without-mesh", "example-service", "platform.mesh", {"provider": "none", "mtls": "STRICT"},
     "platform.mesh.mtls", "needs a service mesh", "provider: istio"),
    ("jwt-issuer-over-http", PLAN, "platform.mesh.jwt.issuer", "http://auth.company.com/",
     "platform.mesh.jwt.issuer", "not an https URL", "https URL"),
    ("jwks-over-http", PLAN, "platform.mesh.jwt.jwksUri", "http://auth.company.com/jwks.json",
     "platform.mesh.jwt.jwksUri", "not an https URL", "https JWKS URL"),
    ("sidecar-opt-out-in-strict-namespace", PROD, f"{US}.podAnnotations", {"sidecar.istio.io/inject": "false"},
     f"{US}.podAnnotations.sidecar.istio.io/inject", "cannot speak mutual TLS", "PERMISSIVE"),
    ("velero-ttl-in-days", PROD, "platform.backups.ttl", "30d", "platform.backups.ttl", "not a Go duration",
     "720h0m0s"),
    ("velero-four-field-cron", PROD, "platform.backups.schedule", "0 2 * *", "platform.backups.schedule",
     "not a five-field cron", "'0 2 * * *'"),
    ("velero-cron-with-words", PROD, "platform.backups.schedule", "at 2am daily", "platform.backups.schedule",
     "not a five-field cron", "minute hour"),
    ("alert-for-in-words", DEV, f"{US}.observability", {"alerts": {"extra": [
        {"alert": "Slow", "expr": "up == 0", "for": "5 minutes", "summary": "s", "description": "d"}]}},
     f"{US}.observability.alerts.extra.0.for", "not a Prometheus duration", "5m"),
    ("scrape-interval-without-unit", DEV, f"{US}.observability", {"serviceMonitor": {"interval": "30"}},
     f"{US}.observability.serviceMonitor.interval", "not a Prometheus duration", "30s"),
    ("scrape-timeout-empty", DEV, f"{US}.observability", {"serviceMonitor": {"scrapeTimeout": ""}},
     f"{US}.observability.serviceMonitor.scrapeTimeout", "not a Prometheus duration", "unit"),
    ("canary-header-route-to-no-pods", DEV, "services.api-gateway.canary", {"tag": "1.1.0", "replicas": 0},
     "services.api-gateway.canary.replicas", "0 pods", "at least one replica"),
    ("pdb-at-the-autoscaler-floor", DEV, f"{US}.disruptionBudget", {"minAvailable": 1},
     f"{US}.disruptionBudget.minAvailable", "user-service-pdb keeps 1 pods available, but user-service runs as few "
     "as 1", f"at most 0, raise {US}.autoscaling.minReplicas"),
    ("pdb-at-fixed-replicas", DEV, "services.config-server.disruptionBudget", {"minAvailable": 2},
     "services.config-server.disruptionBudget.minAvailable", "runs as few as 1 (services.config-server.replicas)",
     "maxUnavailable: 1"),
    ("pdb-of-a-smaller-colour", PROD, "services.transaction-service", {
        "blueGreen": {"active": "blue", "blue": {"tag": "1.0.0"}, "green": {"tag": "1.1.0", "replicas": 2}},
        "disruptionBudget": {"minAvailable": 2}}, "services.transaction-service.disruptionBudget.minAvailable",
     "transaction-service-green-pdb keeps 2 pods available", "raise services.transaction-service.blueGreen.green.replicas"),
    ("pdb-of-both-colours-one-problem", PROD, "services.transaction-service", {
        "blueGreen": {"active": "green", "blue": {"tag": "1.0.0", "replicas": 2}, "green": {"tag": "1.1.0",
                                                                                               "replicas": 1}},
        "disruptionBudget": {"minAvailable": 2}}, "services.transaction-service.disruptionBudget.minAvailable",
     "transaction-service-blue-pdb and transaction-service-green-pdb each keep 2", "at most 0, raise "
     "services.transaction-service.blueGreen.green.replicas"),
    ("canary-pdb-at-its-weight-share", PROD, "services.api-gateway.canary", {
        "tag": "1.1.0", "weight": 10, "disruptionBudget": {"minAvailable": 1}},
     "services.api-gateway.canary.disruptionBudget.minAvailable", "api-gateway-canary runs as few as 1",
     "raise services.api-gateway.canary.weight"),
    ("canary-pdb-at-its-replicas", PROD, "services.api-gateway.canary", {
        "tag": "1.1.0", "weight": 10, "replicas": 2, "disruptionBudget": {"minAvailable": 2}},
     "services.api-gateway.canary.disruptionBudget.minAvailable", "api-gateway-canary-pdb keeps 2 pods available",
     "raise services.api-gateway.canary.replicas"),
    ("canary-pdb-at-its-autoscaler-floor", PROD, "services.api-gateway.canary", {
        "tag": "1.1.0", "weight": 10, "autoscaling": {"minReplicas": 2, "maxReplicas": 3},
        "disruptionBudget": {"minAvailable": 3}}, "services.api-gateway.canary.disruptionBudget.minAvailable",
     "runs as few as 2", "at most 1, raise services.api-gateway.canary.autoscaling.minReplicas"),
    ("label-value-with-a-trailing-newline", DEV, f"{US}.labels", {"team": "payments\n"}, f"{US}.labels.team",
     "not a valid label value", "at most 63"),
    ("label-key-with-a-trailing-newline", DEV, f"{US}.labels", {"team\n": "payments"}, f"{US}.labels.team\n",
     "not a valid label name", "DNS prefix"),
    ("ingress-host-with-a-trailing-newline", DEV, "services.api-gateway.ingress.host", "api.micropay.localhost\n",
     "services.api-gateway.ingress.host", "not a host name", "lower-case host alone"),
    ("velero-ttl-with-a-trailing-newline", PROD, "platform.backups.ttl", "720h0m0s\n", "platform.backups.ttl",
     "not a Go duration", "720h0m0s"),
    ("velero-ttl-in-other-digits", PROD, "platform.backups.ttl", "\u0667\u0662\u0660h", "platform.backups.ttl",
     "not a Go duration", "write hours"),
    ("scrape-interval-with-a-trailing-newline", DEV, f"{US}.observability", {"serviceMonitor": {"interval": "30s\n"}},
     f"{US}.observability.serviceMonitor.interval", "not a Prometheus duration", "30s"),
    ("configmap-key-with-a-trailing-newline", DEV, f"{US}.configData", {"level\n": "INFO"},
     f"{US}.configData.level\n", "not a valid ConfigMap/Secret key", "letters, digits"),
    ("env-name-starting-with-a-digit", DEV, f"{US}.env", {"2FA_ENABLED": "true"}, f"{US}.env.2FA_ENABLED",
     "not a valid environment variable name", "not starting with a digit"),
    ("env-name-with-a-trailing-newline", DEV, f"{US}.env", {"LOG_LEVEL\n": "INFO"}, f"{US}.env.LOG_LEVEL\n",
     "not a valid environment variable name", "LOG_LEVEL"),
    ("sidecar-env-name-with-a-space", PLAN, f"{FP}.sidecars", planning_helper("sidecars", env={"LOG LEVEL": "info"}),
     f"{FP}.sidecars.0.env.LOG LEVEL", "not a valid environment variable name", "letters, digits"),
    ("secret-env-name-invalid", DEV, "services.payment-service.secrets", [{"keys": {"db-password": {
        "env": "DB=PASSWORD"}}}], "services.payment-service.secrets.0.keys.db-password.env",
     "'DB=PASSWORD' is not a valid environment variable name", "e.g. LOG_LEVEL"),
    ("placeholder-with-a-misspelt-kind", DEV, f"{US}.env", {"KAFKA": "${adress:kafka}"}, f"{US}.env.KAFKA",
     "${adress:kafka} is not a placeholder this program fills", "${address:NAME}"),
    ("placeholder-with-a-misspelt-word", DEV, f"{US}.configData", {"profile": "spring-${enviroment}"},
     f"{US}.configData.profile", "${enviroment} is not a placeholder", "${environment}"),
    ("placeholder-left-open", PLAN, f"{FP}.sidecars", planning_helper("sidecars", env={
        "TARGET": "${host:log-collector"}), f"{FP}.sidecars.0.env.TARGET", "${host:log-collector is not a placeholder",
     "${host:NAME}"),
    ("placeholder-with-an-upper-case-target", DEV, f"{US}.env", {"KAFKA": "${address:Kafka}"}, f"{US}.env.KAFKA",
     "${address:Kafka} is not a placeholder", "lower-case"),
    ("render-directory-outside-the-project", DEV, "cluster.renderDirectory", "/var/tmp/render",
     "cluster.renderDirectory", "'/var/tmp/render' is outside the project", "build/pulumi-render/development"),
    ("render-directory-climbing-out", DEV, "cluster.renderDirectory", "build/../../render", "cluster.renderDirectory",
     "outside the project", "keep it under build/"),
    ("image-with-its-tag", DEV, f"{US}.image", "registry.micropay.com/user-service:1.0.0", f"{US}.image",
     "holds a tag or digest", "the version in tag"),
    ("image-with-a-digest", DEV, f"{US}.image", "registry.micropay.com/user-service@sha256:" + "0" * 64,
     f"{US}.image", "holds a tag or digest", "repository alone"),
    ("image-with-capitals", DEV, f"{US}.image", "registry.micropay.com/User-Service", f"{US}.image",
     "is not an image repository", "lower-case path components"),
    ("image-with-a-scheme", DEV, f"{US}.image", "https://registry.micropay.com/user-service", f"{US}.image",
     "is not an image repository", "optional registry host"),
    ("sidecar-image-with-a-space", PLAN, f"{FP}.sidecars", planning_helper("sidecars", image="fluent bit"),
     f"{FP}.sidecars.0.image", "'fluent bit' is not an image repository", "registry.example.com/team/app"),
    ("annotation-key-with-a-space", DEV, f"{US}.annotations", {"change cause": "release 1.0"},
     f"{US}.annotations.change cause", "not a valid annotation key", "DNS prefix"),
    ("pod-annotation-key-with-two-prefixes", DEV, f"{US}.podAnnotations", {"a.io/b.io/scrape": "true"},
     f"{US}.podAnnotations.a.io/b.io/scrape", "not a valid annotation key", "at most 63"),
    ("colour-annotation-key-invalid", PROD, "services.transaction-service.blueGreen", {
        "active": "blue", "blue": {"tag": "1.0.0"}, "green": {"tag": "1.1.0", "annotations": {"_release": "x"}}},
     "services.transaction-service.blueGreen.green.annotations._release", "not a valid annotation key",
     "starting and ending with a letter or digit"),
    ("peer-namespace-with-capitals", DEV, "platform.ingressFrom", {"namespace": "Ingress-Nginx", "podLabels": {
        "app.kubernetes.io/name": "ingress-nginx"}}, "platform.ingressFrom.namespace", "not a valid namespace name",
     "lower-case"),
    ("endpoint-namespace-with-a-dot", DEV, "endpoints", {"kafka": {"namespace": "micropay.infra"}},
     "endpoints.kafka.namespace", "not a valid namespace name", "at most 63"),
    ("ingress-class-with-a-space", DEV, "platform.ingressClass", "nginx public", "platform.ingressClass",
     "not a valid object name", "lower-case letters"),
    ("claim-name-with-an-underscore", PROD, "services.payment-service.claims", {"payment_db": {
        "size": "10Gi", "storageClass": "fast-ssd"}}, "services.payment-service.claims.payment_db",
     "'payment_db' is not a valid object name", "'-' and '.'"),
    ("peer-pod-label-value-with-a-space", DEV, "platform.scrapeFrom", {"namespace": "monitoring", "podLabels": {
        "app.kubernetes.io/name": "kube prometheus"}}, "platform.scrapeFrom.podLabels.app.kubernetes.io/name",
     "not a valid label value", "at most 63"),
    ("endpoint-pod-label-key-invalid", DEV, "endpoints", {"kafka": {"podLabels": {"app name": "kafka"}}},
     "endpoints.kafka.podLabels.app name", "not a valid label name", "DNS prefix"),
    ("monitor-label-value-too-long", DEV, "platform.observability", {"monitorLabels": {"release": "r" * 64}},
     "platform.observability.monitorLabels.release", "not a valid label value", "at most 63"),
    ("tracing-endpoint-without-a-scheme", PROD, "platform.observability.tracing.endpoint", "otel-collector:4317",
     "platform.observability.tracing.endpoint", "not an http or https URL", "http://otel-collector.observability:4317"),
    ("runbook-url-without-a-scheme", DEV, "platform.observability.runbookBaseUrl", "runbooks.micropay.com/alerts",
     "platform.observability.runbookBaseUrl", "not an http or https URL", "https://runbooks.example.com/alerts"),
    ("metrics-path-relative", DEV, f"{US}.observability", {"metricsPath": "metrics"},
     f"{US}.observability.metricsPath", "not an absolute URL path", "/metrics"),
    ("service-monitor-path-is-metrics-path", DEV, f"{US}.observability", {"serviceMonitor": {"path": "/prometheus"}},
     f"{US}.observability.serviceMonitor.path", "replaced by observability.metricsPath", "move the value to"),
    ("writable-path-relative", DEV, f"{US}.writablePaths", ["tmp"], f"{US}.writablePaths.0",
     "not an absolute path without ':'", "/var/lib/app"),
    ("claim-mount-path-relative", PROD, "services.payment-service.claims", {"payment-db-pvc": {
        "size": "100Gi", "storageClass": "fast-ssd", "mountPath": "data", "accessMode": "ReadWriteMany"}},
     "services.payment-service.claims.payment-db-pvc.mountPath", "'data' is not an absolute path", "from the root"),
    ("sidecar-mount-target-with-a-colon", PLAN, f"{FP}.sidecars", planning_helper("sidecars", mounts={
        "/tmp": "/logs:ro"}), f"{FP}.sidecars.0.mounts./tmp", "'/logs:ro' is not an absolute path without ':'",
     "from the root"),
    ("ingress-path-with-a-space", DEV, "services.api-gateway.ingress.path", "/api v1",
     "services.api-gateway.ingress.path", "not a plain URL path", "/api/v1"),
    ("ingress-path-with-a-dot-segment", DEV, "services.api-gateway.ingress.path", "/api/../admin",
     "services.api-gateway.ingress.path", "no '//', '.' or '..' segments", "path prefix itself"),
    ("scrape-interval-zero", DEV, f"{US}.observability", {"serviceMonitor": {"interval": "0s"}},
     f"{US}.observability.serviceMonitor.interval", "never scrapes", "30s"),
    ("scrape-timeout-above-interval", DEV, f"{US}.observability", {"serviceMonitor": {
        "interval": "15s", "scrapeTimeout": "1m"}}, f"{US}.observability.serviceMonitor.scrapeTimeout",
     "longer than the interval (15s), which Prometheus refuses", "at most 15s"),
    ("secret-refresh-in-words", PROD, "platform.secretRefreshInterval", "1 hour", "platform.secretRefreshInterval",
     "not a Go duration", "1h"),
    ("outlier-interval-without-unit", PROD, "services.api-gateway.canary", {"tag": "1.1.0", "weight": 10,
                                                                            "replicas": 1, "trafficPolicy": {
        "outlierDetection": {"interval": "30"}}}, "services.api-gateway.canary.trafficPolicy.outlierDetection.interval",
     "not a Go duration", "30s"),
    ("canary-header-value-with-a-newline", PROD, "services.api-gateway.canary", {
        "tag": "1.1.0", "weight": 10, "replicas": 1, "headerValue": "true\n"}, "services.api-gateway.canary.headerValue",
     "not an HTTP header value, so no request could match", "visible characters"),
    ("canary-steps-going-down", PROD, "services.api-gateway.canary", {
        "tag": "1.1.0", "weight": 10, "replicas": 1, "steps": [50, 10, 100]}, "services.api-gateway.canary.steps",
     "[50, 10, 100] do not increase", "smallest first"),
    ("canary-step-twice", PROD, "services.api-gateway.canary", {
        "tag": "1.1.0", "weight": 10, "replicas": 1, "steps": [10, 10, 100]}, "services.api-gateway.canary.steps",
     "do not increase", "each weight once"),
    ("extra-alert-reusing-a-standard-name", DEV, f"{US}.observability.alerts", {"extra": [{
        "alert": "UserServiceServiceDown", "expr": "vector(1)", "summary": "s", "description": "d"}]},
     f"{US}.observability.alerts.extra.0.alert", "already used by user-service's rules", "UserServiceServiceDownCustom"),
    ("extra-alerts-sharing-a-name", DEV, f"{US}.observability.alerts", {"extra": [
        {"alert": "UserBacklog", "expr": "vector(1)", "summary": "s", "description": "d"},
        {"alert": "UserBacklog", "expr": "vector(2)", "summary": "s", "description": "d"}]},
     f"{US}.observability.alerts.extra.1.alert", "'UserBacklog' is already used", "rename it"),
    ("metric-selector-unreadable", DEV, f"{US}.observability.metrics.cacheHits", "cache_gets_total{result=hit",
     f"{US}.observability.metrics.cacheHits", "is not a PromQL metric name or selector", "label matchers"),
    ("metric-selector-contradicting-the-service-label", DEV, f"{US}.observability.metrics.requestsTotal",
     'http_requests_total{service="other"}', f"{US}.observability.metrics.requestsTotal",
     'already requires service="other"', "leaving out the namespace and service labels"),
    ("endpoint-both-in-cluster-and-managed", DEV, "endpoints", {"kafka": {"cidr": "10.20.0.0/16", "host": "kafka.example"}},
     "endpoints.kafka", "gives both", "namespace with podLabels, or cidr with host"),
    ("endpoint-reached-neither-way", DEV, "endpoints", {"kafka": {"namespace": None, "podLabels": None}},
     "endpoints.kafka", "gives neither", "namespace with podLabels, or cidr with host"),
    ("caller-that-is-nothing", DEV, f"{US}.callers", ["payment-servic"], f"{US}.callers",
     "neither a service nor a peer", "did you mean 'payment-service'"),
    ("dependency-that-is-nothing", DEV, f"{US}.dependencies", ["postgres"], f"{US}.dependencies",
     "neither a service nor an endpoint", "did you mean 'postgresql'"),
    ("jwt-for-an-unknown-service", PLAN, "platform.mesh.jwt.services", ["financial-planning"],
     "platform.mesh.jwt.services", "is not a service", "did you mean 'financial-planning-api'"),
    ("trace-collector-that-is-not-an-endpoint", PROD, "platform.observability.tracing.collector", "otel-colector",
     "platform.observability.tracing.collector", "is not an endpoint", "did you mean 'otel-collector'"),
]


@pytest.mark.parametrize("stack,path,value,key,words,fix", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_mistake_is_one_problem_with_its_exact_key_and_fix(stack, path, value, key, words, fix):
    settings, secrets = stack_input(stack)
    with pytest.raises(ConfigError) as caught:
        load(stack, setting(settings, path, value), secrets)
    assert len(caught.value.problems) == 1, caught.value.problems
    [(problem_key, message)] = caught.value.problems
    assert problem_key == key
    text, _, advice = message.partition("; ")
    assert words in text and fix in advice, message


def test_application_placeholders_are_left_to_the_application():
    """Spring's and shells' ${NAME} syntax is not ours: only what looks like ours is refused."""
    settings, secrets = stack_input(DEV)
    setting(settings, f"{US}.env", {"DB_URL": "${DB_HOST:localhost}:${DB_PORT}", "PORT": "${server.port}"})
    env = load(DEV, settings, secrets).services["user-service"].env
    assert env["DB_URL"] == "${DB_HOST:localhost}:${DB_PORT}" and env["PORT"] == "${server.port}"


def test_a_mistake_in_stack_defaults_is_one_problem_named_where_it_was_written():
    """Rules name the key as written too: one problem in `defaults`, not one per service that inherits it."""
    settings, secrets = stack_input(DEV)
    setting(settings, "defaults.labels", {"app.kubernetes.io/name": "x", "team": "a" * 64})
    with pytest.raises(ConfigError) as caught:
        load(DEV, settings, secrets)
    assert [key for key, _ in caught.value.problems] == ["defaults.labels.app.kubernetes.io/name", "defaults.labels.team"]


def test_config_env_reading_a_key_and_a_plain_env_var_of_the_same_name_is_refused():
    settings, secrets = stack_input(DEV)
    setting(settings, f"{US}.configData", {"level": "INFO"})
    setting(settings, f"{US}.configEnv", {"LOG_LEVEL": "level"})
    setting(settings, f"{US}.env", {"LOG_LEVEL": "DEBUG"})
    with pytest.raises(ConfigError) as caught:
        load(DEV, settings, secrets)
    assert caught.value.problems == [(f"{US}.configEnv.LOG_LEVEL", (
        f"LOG_LEVEL is also set by {US}.env.LOG_LEVEL, and only one value would reach the container; "
        "set it in one place"))]


def test_two_services_writing_one_secret_in_one_namespace_are_refused():
    settings, secrets = stack_input(DEV)
    setting(settings, "services.api-gateway.secrets", [{"name": "core-credentials", "keys": {"a": {"env": "A"}}}])
    setting(settings, "services.config-server.secrets", [{"name": "core-credentials", "keys": {"b": {"env": "B"}}}])
    with pytest.raises(ConfigError) as caught:
        load(DEV, settings, secrets)
    assert caught.value.problems == [("services.config-server.secrets.0.name", (
        "Secret 'core-credentials' in micropay-core is also written by services.api-gateway.secrets.0.name, and one "
        "would overwrite the other; give each secret its own name"))]


@pytest.mark.parametrize("secrets_setting", [
    [{"keys": {"db-password": {"remoteProperty": "password"}, "db-username": {"source": "static", "value": "payments"}}}],
    [{"source": "static", "keys": {"db-username": {"value": "payments"}, "db-schema": {"value": "ledger"}}}],
], ids=["static-key-beside-external", "static-secret"])
def test_a_static_user_name_stays_allowed(secrets_setting):
    settings, secrets = stack_input(PROD)
    setting(settings, "services.payment-service.secrets", secrets_setting)
    assert config_problems(load(PROD, settings, secrets)) == []


@pytest.mark.parametrize("key,value,words", [
    ("db-password", {"source": "static", "value": 12345}, "write the value in quotes"),
    ("db-password", {"source": "static", "value": 1234.5}, "write the value in quotes"),
    ("db-password", {"source": "static", "value": [98765]}, "valid string"),
    ("db-password", {"value": 55555}, "valid string"),
    ("db-password", {"length": "s3cr3tpass"}, "valid integer"),
    ("db-password", {"source": "statik", "value": "s3cr3tpass"}, "'generated', 'provided', 'external' or 'static'"),
])
def test_a_secret_value_of_the_wrong_type_is_refused_without_echoing_it(key, value, words):
    settings, secrets = stack_input(DEV)
    setting(settings, "services.payment-service.secrets", [{"keys": {key: value}}])
    with pytest.raises(ConfigError) as caught:
        load(DEV, settings, secrets)
    [(problem_key, message)] = caught.value.problems
    assert problem_key.startswith(f"services.payment-service.secrets.0.keys.{key}.")
    assert words in message
    for shown in ("12345", "1234.5", "98765", "55555", "s3cr3tpass"):
        assert shown not in str(caught.value)


def test_a_config_file_and_a_config_key_of_one_name_are_refused():
    settings, secrets = stack_input(DEV)
    setting(settings, f"{US}.configFiles", {"app.yml": "a: 1"})
    setting(settings, f"{US}.configData", {"app.yml": "b"})
    with pytest.raises(ConfigError) as caught:
        load(DEV, settings, secrets)
    assert caught.value.problems == [(f"{US}.configData.app.yml", "configFiles.app.yml writes the same ConfigMap "
                                      "key; rename one of them")]


@pytest.mark.parametrize("name,words", [
    ("9-lives", "cannot name a Kubernetes Service (DNS-1035"),
    ("a" * 52, "52 characters, so names derived from it"),
])
def test_service_names_that_cannot_name_every_derived_object(name, words):
    settings, secrets = stack_input(DEV)
    config = load(DEV, settings, secrets)
    services = dict(config.services)
    services[name] = services.pop("user-service")
    problems = config_problems(config.model_copy(update={"services": services}))
    assert [(problem.key, words in problem.message) for problem in problems] == [(f"services.{name}", True)]


def test_a_51_character_service_name_fits_every_derived_name():
    settings, secrets = stack_input(DEV)
    config = load(DEV, settings, secrets)
    services = dict(config.services)
    services["a" * 51] = services.pop("user-service")
    assert config_problems(config.model_copy(update={"services": services})) == []


@pytest.mark.parametrize("stack", STACKS)
def test_no_derived_name_is_longer_than_the_rule_assumes(stack):
    """LONGEST_DERIVED_SUFFIX is the rule's assumption: every rendered name derived from a service obeys it."""
    settings, secrets = stack_input(stack)
    config = load(stack, settings, secrets)
    services = sorted(config.services, key=len, reverse=True)
    # The ConfigMaps of sidecars' configFiles carry the sidecar's name too: a rule of their own checks them.
    helper_config_maps = {helper_config_map(name, helper) for name, service in config.services.items()
                          for helper in (*service.sidecars, *service.init_containers) if helper.config_files}
    for manifest in objects(stack):
        name = manifest["metadata"]["name"]
        owner = next((service for service in services if name.startswith(service)
                      and name not in helper_config_maps), None)
        if owner is not None:
            assert len(name) - len(owner) <= LONGEST_DERIVED_SUFFIX, (manifest["kind"], name)


def test_every_committed_stack_has_no_problem():
    for stack in STACKS:
        settings, secrets = stack_input(stack)
        assert config_problems(load(stack, settings, secrets)) == [], stack
