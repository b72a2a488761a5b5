"""MicroService: everything one service needs to run safely in its namespace.

ServiceAccount (and a least-privilege Role when the service calls the API), ConfigMap,
Secrets, one Deployment per track with its HPA, PDB and VPA, a ClusterIP Service, a
NetworkPolicy, claims and an optional Ingress. Delivery strategies reuse it by passing a
``DeliveryPlan`` with more than one track; without one it rolls a single Deployment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from platform_config.models import PlatformSettings, ServiceSpec
from specs import mesh as mesh_specs
from specs import network as network_specs
from specs import scaling as scaling_specs
from specs import secrets as secret_specs
from specs import service_objects as object_specs
from specs import workload as workload_specs
from specs.delivery import DeliveryPlan, TrackPlan, rolling_plan
from specs.metadata import object_metadata
from specs.observability import tracing_env
from specs.traffic import Rule, service_account_name


@dataclass(frozen=True)
class MicroServiceArgs:
    spec: ServiceSpec
    platform: PlatformSettings
    ingress_rules: list[Rule]
    egress_rules: list[Rule]
    plan: DeliveryPlan | None = None
    provided_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class MicroService(pulumi.ComponentResource):
    service_name: str
    namespace: str
    delivery: str
    deployments: list[str]
    image: str

    def __init__(self, name: str, args: MicroServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("micropay:service:MicroService", name, None, opts)
        self._args = args
        self._prefix = name
        self.service_name = service = name
        spec = args.spec
        self.namespace = spec.namespace
        self.delivery = spec.delivery
        self.image = f"{spec.image}:{spec.tag}"

        self.service_account = self._identity()
        self._config_map_name = self._config_map()
        self._secret_refs = self._secrets()
        self._claims()
        env = self._env(spec.tag, spec)
        pod = workload_specs.PodInputs(
            service_account=service_account_name(service),
            config_map=self._config_map_name,
            config_checksum=workload_specs.checksum(
                object_specs.config_map_data(spec), [secret.model_dump() for secret in spec.secrets],
                [helper.config_files for helper in [*spec.sidecars, *spec.init_containers]]),
            env=env,
        )
        plan = args.plan or rolling_plan(service, spec)
        for track in plan.tracks:
            self._track(track, pod)
        self.deployments = sorted(track.track.deployment_name for track in plan.tracks)
        self.service = self._k8s(k8s.core.v1.Service, "service", service,
                                 spec=object_specs.service(plan.service_selector, spec))
        self._k8s(k8s.networking.v1.NetworkPolicy, "network-policy", service,
                  spec=network_specs.service_policy({"app": service}, args.ingress_rules, args.egress_rules,
                                                    args.platform.dns_namespace))
        self._mesh_policies()
        if spec.ingress:
            self._k8s(k8s.networking.v1.Ingress, "ingress", f"{service}-ingress",
                      annotations=object_specs.ingress_annotations(spec.ingress, args.platform.cluster_issuer),
                      spec=object_specs.ingress(service, spec.exposed_port, spec.ingress,
                                                args.platform.ingress_class))

        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, object]:
        """The attributes under the keys the engine records and `pulumi stack output services` shows."""
        return {"serviceName": self.service_name, "namespace": self.namespace, "delivery": self.delivery,
                "deployments": self.deployments, "image": self.image}

    def _mesh_policies(self) -> None:
        args = self._args
        mesh = args.platform.mesh
        if mesh.provider != "istio":
            return
        jwt = mesh.jwt if mesh.jwt and self.service_name in mesh.jwt.services else None
        self._custom("security.istio.io/v1", "AuthorizationPolicy", "authorization-policy", self.service_name,
                     mesh_specs.authorization_policy(self.service_name, args.ingress_rules, jwt is not None))
        if jwt:
            self._custom("security.istio.io/v1", "RequestAuthentication", "request-authentication",
                         self.service_name, mesh_specs.request_authentication(self.service_name, jwt))

    def _custom(self, api_version: str, kind: str, suffix: str, object_name: str, spec: dict,
                opts: pulumi.ResourceOptions | None = None):
        options = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts)
        return k8s.apiextensions.CustomResource(f"{self._prefix}-{suffix}", api_version=api_version, kind=kind,
                                                metadata=self._metadata(object_name), spec=spec, opts=options)

    def _env(self, tag: str, spec: ServiceSpec) -> list[dict]:
        """The track's env over the platform's OTEL_* env (the service's own values win)."""
        platform = self._args.platform
        plain = dict(spec.env)
        if platform.observability.tracing and spec.observability.tracing:
            otel = tracing_env(self.service_name, tag, platform.environment, platform.observability.tracing)
            plain = {**{key: value for key, value in otel.items() if key not in self._secret_refs}, **spec.env}
        config_refs = {env: (self._config_map_name, key) for env, key in spec.config_env.items()}
        return workload_specs.env_list(plain, self._secret_refs, config_refs)

    def _metadata(self, object_name: str, annotations: dict[str, str] | None = None) -> dict:
        return object_metadata(object_name, self.namespace,
                               workload_specs.common_labels(self.service_name, self._args.spec), annotations)

    def _k8s(self, resource_type, suffix: str, object_name: str, annotations: dict | None = None,
             opts: pulumi.ResourceOptions | None = None, **fields):
        options = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts)
        return resource_type(f"{self._prefix}-{suffix}", metadata=self._metadata(object_name, annotations),
                             **fields, opts=options)

    def _identity(self):
        spec, service = self._args.spec, self.service_name
        account = self._k8s(k8s.core.v1.ServiceAccount, "service-account", service_account_name(service),
                            automount_service_account_token=False)
        if spec.api_access:
            self._k8s(k8s.rbac.v1.Role, "role", f"{service}-role", rules=object_specs.role(spec.rbac)["rules"])
            binding = object_specs.role_binding(f"{service}-role", service_account_name(service), self.namespace)
            self._k8s(k8s.rbac.v1.RoleBinding, "role-binding", f"{service}-rolebinding",
                      subjects=binding["subjects"], role_ref=binding["roleRef"])
        return account

    def _config_map(self) -> str | None:
        spec, service = self._args.spec, self.service_name
        for helper in [*spec.sidecars, *spec.init_containers]:
            if helper.config_files:
                self._k8s(k8s.core.v1.ConfigMap, f"config-{helper.name}",
                          workload_specs.helper_config_map(service, helper), data=dict(helper.config_files))
        data = object_specs.config_map_data(spec)
        if not data:
            return None
        object_name = f"{service}-config"
        self._k8s(k8s.core.v1.ConfigMap, "config", object_name, data=data)
        return object_name

    def _secret_value(self, secret_name: str, key_name: str, key, source: str) -> pulumi.Input[str]:
        if source == "generated":
            password = random.RandomPassword(
                f"{self._prefix}-{secret_name}-{key_name}", length=key.length, special=key.special,
                opts=pulumi.ResourceOptions(parent=self))
            return password.result
        if source == "provided":
            return pulumi.Output.secret(self._args.provided_secrets[
                key.stack_key(self.service_name, key_name)])
        return pulumi.Output.secret(key.value)

    def _secrets(self) -> dict[str, tuple[str, str]]:
        """Create the Secrets (or ExternalSecrets) and return env var -> (secret, key) references."""
        refs: dict[str, tuple[str, str]] = {}
        platform = self._args.platform
        for secret in self._args.spec.secrets:
            secret_name = secret.secret_name(self.service_name)
            sources = {key_name: secret.source_of(key, platform.secret_source)
                       for key_name, key in secret.keys.items()}
            if "external" in sources.values():
                static = {key_name: key.value for key_name, key in secret.keys.items()
                          if sources[key_name] == "static"}
                remote = secret_specs.remote_key(secret, platform.environment, self.service_name)
                self._custom("external-secrets.io/v1", "ExternalSecret", f"external-secret-{secret_name}",
                             secret_name, secret_specs.external_secret(
                                 secret_name, secret, remote, platform.secret_store,
                                 platform.secret_refresh_interval, static))
            else:
                values = {key_name: self._secret_value(secret_name, key_name, key, sources[key_name])
                          for key_name, key in secret.keys.items()}
                self._k8s(k8s.core.v1.Secret, f"secret-{secret_name}", secret_name, type="Opaque",
                          string_data=values)
            refs.update({key.env: (secret_name, key_name) for key_name, key in secret.keys.items() if key.env})
        return refs

    def _claims(self) -> None:
        protect = self._args.platform.protect_state
        for claim_name, claim in self._args.spec.claims.items():
            self._k8s(k8s.core.v1.PersistentVolumeClaim, f"claim-{claim_name}", claim_name,
                      spec=object_specs.persistent_volume_claim(claim),
                      opts=pulumi.ResourceOptions(protect=protect, retain_on_delete=protect))

    def _track(self, plan: TrackPlan, pod: workload_specs.PodInputs) -> None:
        args, track = self._args, plan.track
        if track.tag != args.spec.tag or plan.spec is not args.spec:
            # A colour or canary on another release reports its own version and runs its own env.
            pod = dataclasses.replace(pod, env=self._env(track.tag, plan.spec))
        body = workload_specs.deployment(self.service_name, plan.spec, track, args.platform, pod)
        deployment_name = track.deployment_name
        deployment = k8s.apps.v1.Deployment(
            f"{self._prefix}-deployment-{track.version or 'main'}",
            metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        if plan.min_replicas == 0:
            return
        depends = pulumi.ResourceOptions(depends_on=[deployment])
        selector = workload_specs.selector_labels(self.service_name, track)
        if plan.autoscaling:
            self._k8s(k8s.autoscaling.v2.HorizontalPodAutoscaler, f"hpa-{track.version or 'main'}",
                      f"{deployment_name}-hpa", opts=depends,
                      spec=scaling_specs.horizontal_autoscaler(deployment_name, plan.autoscaling,
                                                               plan.min_replicas))
        if plan.budget:
            self._k8s(k8s.policy.v1.PodDisruptionBudget, f"pdb-{track.version or 'main'}",
                      f"{deployment_name}-pdb", opts=depends,
                      spec=scaling_specs.disruption_budget(selector, plan.budget))
        vertical = args.spec.vertical_autoscaling
        if vertical.enabled:
            vpa_plan = scaling_specs.plan_vertical_autoscaler(self.service_name, args.spec.autoscaling, vertical)
            if vpa_plan.warning:
                pulumi.log.warn(vpa_plan.warning, resource=self)
            self._custom("autoscaling.k8s.io/v1", "VerticalPodAutoscaler", f"vpa-{track.version or 'main'}",
                         f"{deployment_name}-vpa",
                         scaling_specs.vertical_autoscaler(deployment_name, self.service_name, vertical, vpa_plan),
                         opts=depends)
