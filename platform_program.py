"""The program: validated config in, namespaces and services out.

``__main__.py`` (under the engine) and ``tools/render.py`` (under mocks) both call
``load`` and then ``deploy``; nothing here reads ``pulumi.Config``.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.blue_green_pair import BlueGreenPair, BlueGreenPairArgs
from components.canary_istio import CanaryIstio, CanaryIstioArgs
from components.cluster_baseline import ClusterBaseline, ClusterBaselineArgs
from components.microservice import MicroService, MicroServiceArgs
from components.observability_bundle import ObservabilityBundle, ObservabilityBundleArgs
from components.provenance import with_provenance
from components.tenant_namespace import TenantNamespace, TenantNamespaceArgs
from platform_config.loader import (PROJECT, STACK_KEYS, ConfigError, check_provided_secrets, checked_config,
                                    provided_secret_keys)
from platform_config.capacity import check_capacity
from platform_config.models import PlatformConfig
from platform_config.paths import PROJECT_ROOT
from platform_config.release_plan import plan_text, release_plan
from platform_config.rules import suggest
from specs import traffic


def pause_garbage_collection() -> bool:
    """Keep Python's cyclic garbage collector out of resource registration.

    Registering resources allocates millions of short-lived objects, and each full collection
    walks a heap that grows with every registered resource, so evaluation time grows faster than
    the catalog: 1,000 services took 72 s with the collector and 28 s without (825 MB peak;
    benchmarks/profiling.md). What exists already (imports) is frozen out of collections. The
    program's process ends when the engine is done with it; the renderer resumes collection.
    Returns False when collection was already paused (by a caller), so nesting is harmless.
    """
    if not gc.isenabled():
        return False
    gc.freeze()
    gc.disable()
    return True


def resume_garbage_collection(paused: bool = True) -> None:
    if paused:
        gc.enable()
        gc.unfreeze()


SDK_DEBUG_ENV = "MICROPAY_SDK_DEBUG"


def drop_sdk_debug_messages() -> bool:
    """Under the engine, keep the SDK's own debug messages (four per resource: "registering
    resource ...") off the engine unless MICROPAY_SDK_DEBUG=1.

    The SDK sends each one as a blocking RPC on the event loop, which registration shares: profiled
    at 18 % of the program's time in a preview (benchmarks/profiling.md). The engine shows them only
    under `pulumi --debug`, so nothing visible goes; the program's own warnings and errors are
    untouched. Returns whether messages are dropped.
    """
    if os.environ.get(SDK_DEBUG_ENV) == "1":
        return False
    pulumi.log.debug = lambda *args, **kwargs: None
    return True


def load(stack: str, settings: dict, secrets: dict[str, str], plain_secrets: frozenset[str] = frozenset(),
         root: Path = PROJECT_ROOT) -> PlatformConfig:
    """Validate everything, or raise ConfigError, before a single resource is registered.
    ``plain_secrets``: the secret values the stack stores in plain text rather than encrypted.

    Validation pauses the garbage collector as registration does: it too allocates per service
    into a growing heap, and with collections 5,000 services cost 6.6x what 1,000 did, without
    them 5.1x (benchmarks/profiling.md)."""
    paused = pause_garbage_collection()
    try:
        return _validated(stack, settings, secrets, plain_secrets, root)
    finally:
        resume_garbage_collection(paused)


def _validated(stack: str, settings: dict, secrets: dict[str, str], plain_secrets: frozenset[str],
               root: Path) -> PlatformConfig:
    config = checked_config(stack, settings, root)
    wanted = provided_secret_keys(config)
    unknown = sorted(set(secrets) - set(wanted))
    if unknown:
        vocabulary = [*STACK_KEYS, *wanted]
        raise ConfigError(stack, [
            (f"{PROJECT}:{key}", "unknown key; " + suggest(key, vocabulary, f"remove it with `pulumi config rm {key}`"))
            for key in unknown])
    check_provided_secrets(config, secrets, plain_secrets)
    preflight(config)
    return config


def preflight(config: PlatformConfig) -> None:
    """Prove every namespace's capacity at peak, so a shortfall stops the run before registration.
    It runs after the rules (platform_config/rules.py), which have checked everything it reads."""
    problems = check_capacity(config).problems
    if problems:
        raise ConfigError(config.stack, problems)


def kubernetes_provider(config: PlatformConfig, render_directory: Path,
                        environment_kubeconfig: str | None) -> k8s.Provider:
    """One provider per mode: a real cluster when one is configured, otherwise render to files."""
    cluster = config.cluster
    if cluster.kubeconfig or cluster.context or environment_kubeconfig:
        return k8s.Provider("cluster", kubeconfig=cluster.kubeconfig or environment_kubeconfig,
                            context=cluster.context, enable_server_side_apply=True)
    target = cluster.render_directory or str(render_directory)
    return k8s.Provider("render", render_yaml_to_directory=target)


def deploy(config: PlatformConfig, secrets: dict[str, str],
           opts: pulumi.ResourceOptions | None = None) -> dict[str, object]:
    platform = config.platform
    opts = with_provenance(opts)
    for key, message in check_capacity(config).accepted:
        pulumi.log.warn(f"{key}: {message}")
    namespaces = {
        name: TenantNamespace(name, TenantNamespaceArgs(spec=spec, platform=platform), opts=opts)
        for name, spec in config.namespaces.items()
    }
    baseline = ClusterBaseline("cluster", ClusterBaselineArgs(
        storage_classes=platform.storage_classes, create_storage_classes=platform.create_storage_classes,
        backups=platform.backups,
        stateful_namespaces=[name for name, spec in config.namespaces.items() if spec.holds_state],
    ), opts=opts)
    provided = {key: pulumi.Output.secret(secrets[key]) for key in provided_secret_keys(config)}
    outputs: dict[str, dict] = {}
    for name, spec in config.services.items():
        service_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            depends_on=[namespaces[spec.namespace]]))
        service_args = MicroServiceArgs(
            spec=spec, platform=platform,
            ingress_rules=traffic.ingress_rules(config, name), egress_rules=traffic.egress_rules(config, name),
            provided_secrets=provided,
        )
        if spec.delivery == "blueGreen":
            component = BlueGreenPair(name, BlueGreenPairArgs(service=service_args), opts=service_opts)
        elif spec.delivery == "canary":
            component = CanaryIstio(name, CanaryIstioArgs(service=service_args), opts=service_opts)
        else:
            component = MicroService(name, service_args, opts=service_opts)
        outputs[name] = component.stack_outputs()
        # Observability (ServiceMonitor, PrometheusRule, dashboard) once the service exists.
        ObservabilityBundle(name, ObservabilityBundleArgs(
            spec=spec, settings=platform.observability,
            mesh_tls=platform.mesh.provider == "istio" and platform.mesh.mtls == "STRICT"),
                            opts=pulumi.ResourceOptions.merge(service_opts,
                                                              pulumi.ResourceOptions(depends_on=[component])))
    return {
        "environment": platform.environment,
        "cluster": baseline.stack_outputs(),
        "namespaces": sorted(namespaces),
        "services": outputs,
        # The release plan (`make plan`): capacity and delivery state, readable in `pulumi stack output plan`.
        "plan": plan_text(release_plan(config)),
    }
