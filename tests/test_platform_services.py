"""Mesh security, secrets, storage, protection and backups across the micropay stacks."""

import pytest

from conftest import find, objects, rendered
from tools.render import SECRET_SIGNATURE, SECRET_SIGNATURE_KEY

MICROPAY = ("production", "staging", "development")


def by_name(stack, kind):
    return {(item["metadata"].get("namespace"), item["metadata"]["name"]): item for item in objects(stack, kind)}


# --- mesh -------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack,mode", [("production", "STRICT"), ("staging", "PERMISSIVE"),
                                        ("development", "PERMISSIVE")])
def test_every_namespace_has_injection_and_the_stack_mtls_mode(stack, mode):
    namespaces = {item["metadata"]["name"] for item in objects(stack, "Namespace")}
    for namespace in objects(stack, "Namespace"):
        assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"
    policies = by_name(stack, "PeerAuthentication")
    assert {namespace for namespace, _ in policies} == namespaces
    assert {policy["spec"]["mtls"]["mode"] for policy in policies.values()} == {mode}


@pytest.mark.parametrize("stack", MICROPAY)
def test_authorization_policies_and_network_policies_agree(stack):
    """Each service's AuthorizationPolicy admits exactly the callers its NetworkPolicy admits."""
    network = by_name(stack, "NetworkPolicy")
    for (namespace, name), policy in by_name(stack, "AuthorizationPolicy").items():
        assert policy["spec"]["action"] == "ALLOW"
        assert policy["spec"]["selector"] == {"matchLabels": {"app": name}}
        mesh_sources = set()
        for rule in policy["spec"]["rules"]:
            source = rule["from"][0]["source"]
            port = tuple(int(port) for port in rule["to"][0]["operation"]["ports"])
            if "principals" in source:
                (principal,) = source["principals"]
                _, _, source_namespace, _, account = principal.split("/")
                mesh_sources.add((source_namespace, account.removesuffix("-sa"), port))
            else:
                mesh_sources.add((source["namespaces"][0], None, port))
        network_sources = set()
        for rule in network[(namespace, name)]["spec"]["ingress"]:
            peer = rule["from"][0]
            labels = peer["podSelector"]["matchLabels"]
            peer_namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            network_sources.add((peer_namespace, labels.get("app"), tuple(port["port"] for port in rule["ports"])))
        assert mesh_sources == network_sources, name


def test_sidecars_reach_istiod_and_prometheus_reaches_merged_metrics():
    policy = find("production", "NetworkPolicy", "user-service", "micropay-user")
    egress = {(rule["to"][0].get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name"),
               tuple(port["port"] for port in rule["ports"])) for rule in policy["spec"]["egress"]}
    assert ("istio-system", (15012,)) in egress
    scrape = [rule for rule in policy["spec"]["ingress"]
              if rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "monitoring"]
    assert [port["port"] for port in scrape[0]["ports"]] == [8081, 15020]


# --- secrets ----------------------------------------------------------------------------------

def test_production_fetches_secrets_with_external_secrets():
    assert objects("production", "Secret") == []
    external = find("production", "ExternalSecret", "payment-service-secrets", "micropay-payment")
    assert external["apiVersion"] == "external-secrets.io/v1"
    spec = external["spec"]
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "micropay-secret-store"}
    assert spec["target"]["name"] == "payment-service-secrets"
    # Seed 001's four keys, user names included, all from the configured source (the store).
    assert {item["secretKey"] for item in spec["data"]} == {"db-username", "db-password", "kafka-username",
                                                            "kafka-password"}
    assert {item["remoteRef"]["key"] for item in spec["data"]} == {
        "micropay/production/payment-service/payment-service-secrets"}
    assert "template" not in spec["target"]


def test_generated_secrets_are_secret_outputs_in_state():
    result = rendered("staging")
    passwords = [name for typ, name, _ in result.registrations if typ == "random:index/randomPassword:RandomPassword"]
    assert sorted(passwords) == [f"payment-service-payment-service-secrets-{key}" for key in
                                 ("db-password", "db-username", "kafka-password", "kafka-username")]
    (secret_inputs,) = [inputs for typ, name, inputs in result.registrations if typ == "kubernetes:core/v1:Secret"]
    # The whole stringData reaches the engine marked secret, so state stores it encrypted.
    assert secret_inputs["stringData"][SECRET_SIGNATURE_KEY] == SECRET_SIGNATURE


def test_provided_secret_reaches_the_secret_only_as_a_secret_output():
    import copy

    from platform_config.stack import stack_file_config
    from tools.render import dump, render_config

    settings, _, _ = stack_file_config("development")
    settings = copy.deepcopy(settings)
    settings.setdefault("services", {})["payment-service"] = {"secrets": [{"name": "payment-service-secrets", "keys": {
        "db-password": {"source": "provided", "configKey": "payment-db-password", "env": "DB_PASSWORD"}}}]}
    result = render_config("development", settings, {"payment-db-password": "s3cr3t-value-42"})
    assert "s3cr3t-value-42" not in dump(result.manifests)
    assert "s3cr3t-value-42" not in repr(result.outputs)
    (secret_inputs,) = [inputs for typ, _, inputs in result.registrations if typ == "kubernetes:core/v1:Secret"]
    assert secret_inputs["stringData"][SECRET_SIGNATURE_KEY] == SECRET_SIGNATURE


def test_secret_sources_cannot_be_mixed_in_one_secret():
    import copy

    from platform_config.loader import ConfigError
    from platform_config.stack import stack_file_config
    from platform_program import load

    settings, _, _ = stack_file_config("production")
    settings = copy.deepcopy(settings)
    settings.setdefault("services", {})["payment-service"] = {"secrets": [{"name": "s", "keys": {
        "a": {"source": "generated"}, "b": {}}}]}
    with pytest.raises(ConfigError, match="do not mix external keys"):
        load("production", settings, {})


# --- edge, storage, protection, backups --------------------------------------------------------

@pytest.mark.parametrize("stack,host,issuer", [("production", "api.micropay.com", "letsencrypt-prod"),
                                               ("staging", "api.staging.micropay.com", "letsencrypt-staging"),
                                               ("development", "api.micropay.localhost", None)])
def test_ingress_per_stack(stack, host, issuer):
    ingress = find(stack, "Ingress", "api-gateway-ingress", "micropay-core")
    assert ingress["spec"]["rules"][0]["host"] == host
    assert ingress["spec"]["tls"][0]["hosts"] == [host]
    assert ingress["metadata"]["annotations"].get("cert-manager.io/cluster-issuer") == issuer


def test_development_creates_its_storage_classes_and_production_references_them():
    classes = by_name("development", "StorageClass")
    assert {name for _, name in classes} == {"fast-ssd", "standard"}
    assert classes[(None, "fast-ssd")]["provisioner"] == "rancher.io/local-path"
    assert objects("production", "StorageClass") == []
    assert find("production", "PersistentVolumeClaim", "payment-db-pvc")["spec"]["storageClassName"] == "fast-ssd"


def test_production_protects_state_and_development_does_not():
    protected = {name for name, options in rendered("production").options.items() if options["protect"]}
    assert protected == {"micropay-payment-namespace", "micropay-transaction-namespace",
                         "micropay-balance-namespace", "micropay-audit-namespace", "micropay-infra-namespace",
                         "payment-service-claim-payment-db-pvc"}
    assert all(rendered("production").options[name]["retainOnDelete"] for name in protected)
    assert not any(options["protect"] for options in rendered("development").options.values())


@pytest.mark.parametrize("stack,enabled", [("production", True), ("staging", True), ("development", False)])
def test_daily_backups_of_stateful_namespaces(stack, enabled):
    schedules = objects(stack, "Schedule")
    assert len(schedules) == (1 if enabled else 0)
    if enabled:
        schedule = schedules[0]
        assert schedule["apiVersion"] == "velero.io/v1"
        assert schedule["metadata"]["namespace"] == "velero"
        assert schedule["spec"]["schedule"] == "0 2 * * *"
        assert schedule["spec"]["template"]["ttl"] == "720h0m0s"
        assert schedule["spec"]["template"]["includedNamespaces"] == [
            "micropay-audit", "micropay-balance", "micropay-infra", "micropay-payment", "micropay-transaction"]


@pytest.mark.parametrize("stack,scheme", [("production", "https"), ("staging", "http")])
def test_prometheus_scrapes_strict_mtls_workloads_with_mesh_certificates(stack, scheme):
    for monitor in objects(stack, "ServiceMonitor"):
        endpoint = monitor["spec"]["endpoints"][0]
        assert endpoint["scheme"] == scheme
        assert ("tlsConfig" in endpoint) is (scheme == "https")
        if scheme == "https":
            assert endpoint["tlsConfig"]["caFile"] == "/etc/prom-certs/root-cert.pem"
