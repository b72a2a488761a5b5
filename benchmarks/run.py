"""How the program's cost grows: `make bench` prints a table and writes benchmarks/results.md.

1. each stack evaluated under mocks (median of 5 runs, resources, time per resource);
2. synthetic catalogs of 10, 100 and 1,000 full services, and the 1,000/100 ratio;
3. component overhead: the same objects registered as bare pulumi_kubernetes resources;
4. `pulumi preview` under the real engine (production, 100 and 1,000 synthetic services) beside
   the same program under mocks;
5. validation at scale: the refusal of a 5,000-service catalog with one mistake, and validation and
   full evaluation of 1,000 and 5,000 services.
No network; timings use time.perf_counter.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import pulumi_kubernetes as k8s

from platform_config.loader import ConfigError
from platform_config.paths import PROJECT_ROOT as ROOT
from platform_config.stack import stack_file_config, stack_names
from platform_program import load, pause_garbage_collection, resume_garbage_collection
from tools.engine_project import copy_project
from tools.render import RecordingMocks, evaluate, render_config, run_under_mocks

RESULTS = ROOT / "benchmarks" / "results.md"
STACKS = stack_names()
NAMESPACES_IN_SYNTHETIC = 10
ENGINE_SIZES = (100, 1000)
SCALE_SIZES = (1000, 5000)


def median_seconds(action, repeats: int, clock=time.perf_counter) -> tuple[float, object]:
    """Median time of `action` (wall time, or the process's CPU time with clock=time.process_time), with
    garbage collection paused as under the engine.

    The collector is paused for the timed call and the previous run's garbage is collected
    outside it, so neither side of a comparison pays for the other's leftovers.
    """
    timings, result = [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        paused = pause_garbage_collection()
        try:
            start = clock()
            result = action()
            timings.append(clock() - start)
        finally:
            resume_garbage_collection(paused)
    return statistics.median(timings), result


# --- synthetic catalogs ----------------------------------------------------------------------

PEAK_PODS_PER_SERVICE = 10


def synthetic_catalog(services: int) -> dict:
    """`services` full services (HPA, PDB, NetworkPolicy, ServiceMonitor, alerts) over 10 namespaces."""
    # Quotas sized for the capacity check: room for PEAK_PODS_PER_SERVICE pods of each service (the
    # autoscaler maximum of 6, the rollout's surge and the pods a rollout stops) at the default
    # resources below, so every size passes the preflight as a real catalog must.
    per_namespace = -(-services // NAMESPACES_IN_SYNTHETIC)
    pods = PEAK_PODS_PER_SERVICE * per_namespace
    quota = {"pods": pods, "services": 2 * per_namespace + 10,
             "requestsCpu": f"{pods * 100}m", "requestsMemory": f"{pods * 128}Mi",
             "limitsCpu": str(pods), "limitsMemory": f"{pods}Gi"}
    namespaces = {f"team-{index:02d}": {"quota": dict(quota)} for index in range(NAMESPACES_IN_SYNTHETIC)}
    catalog_services = {}
    for index in range(services):
        name = f"svc-{index:04d}"
        dependencies = [f"svc-{index - 1:04d}"] if index else []
        catalog_services[name] = {
            "namespace": f"team-{index % NAMESPACES_IN_SYNTHETIC:02d}",
            "image": f"registry.example.com/{name}", "port": 8080,
            "dependencies": dependencies + ["postgresql"],
        }
    return {
        "namespaces": namespaces,
        "endpoints": {"postgresql": {"namespace": "team-00", "podLabels": {"app": "postgresql"}, "port": 5432}},
        "defaults": {
            "tag": "1.0.0",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "probes": {"startup": {"path": "/health"}, "liveness": {"path": "/health/live"},
                       "readiness": {"path": "/health/ready"}},
            "autoscaling": {"minReplicas": 2, "maxReplicas": 6},
            "disruptionBudget": {"maxUnavailable": 1},
        },
        "services": catalog_services,
    }


def synthetic_settings(catalog_path: Path) -> dict:
    return {"catalog": str(catalog_path), "platform": {"environment": "production"}}


def add_mistake(catalog: dict) -> str:
    """Put one mistake in the catalog's last service (a readiness probe on a port its container does
    not declare, found only by the rules after the whole catalog is parsed); return its key path in
    the catalog, which a refusal names after the catalog file."""
    name = list(catalog["services"])[-1]
    catalog["services"][name]["probes"] = {"readiness": {"path": "/health/ready", "port": "admin"}}
    return f"services.{name}.probes.readiness.port"


def write_catalog(directory: Path, services: int, mistake: bool = False) -> Path:
    """The synthetic catalog of `services` services (with add_mistake's mistake if asked) as a file."""
    catalog = synthetic_catalog(services)
    if mistake:
        add_mistake(catalog)
    path = directory / f"synthetic-{services}{'-mistake' * mistake}.yaml"
    # libyaml's emitter when PyYAML has it: the pure-Python one takes longer to write 5,000 services than
    # the program takes to validate them.
    path.write_text(yaml.dump(catalog, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False))
    return path


# --- bare registration -----------------------------------------------------------------------

BARE_TYPES = {
    "Namespace": k8s.core.v1.Namespace, "ResourceQuota": k8s.core.v1.ResourceQuota,
    "LimitRange": k8s.core.v1.LimitRange, "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
    "ServiceAccount": k8s.core.v1.ServiceAccount, "Role": k8s.rbac.v1.Role, "RoleBinding": k8s.rbac.v1.RoleBinding,
    "ConfigMap": k8s.core.v1.ConfigMap, "Secret": k8s.core.v1.Secret,
    "PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim, "Deployment": k8s.apps.v1.Deployment,
    "Service": k8s.core.v1.Service, "HorizontalPodAutoscaler": k8s.autoscaling.v2.HorizontalPodAutoscaler,
    "PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget, "Ingress": k8s.networking.v1.Ingress,
    "StorageClass": k8s.storage.v1.StorageClass,
}
SNAKE = {"stringData": "string_data", "roleRef": "role_ref", "automountServiceAccountToken":
         "automount_service_account_token", "allowVolumeExpansion": "allow_volume_expansion",
         "reclaimPolicy": "reclaim_policy", "volumeBindingMode": "volume_binding_mode"}


def register_bare(manifests: list[dict]) -> int:
    """Register the manifests as plain pulumi_kubernetes resources under mocks; returns the count."""

    def program() -> None:
        for index, manifest in enumerate(manifests):
            fields = {SNAKE.get(key, key): value for key, value in manifest.items()
                      if key not in ("apiVersion", "kind")}
            resource_type = BARE_TYPES.get(manifest["kind"])
            if resource_type is None:
                k8s.apiextensions.CustomResource(f"r{index}", api_version=manifest["apiVersion"],
                                                 kind=manifest["kind"], **fields)
            else:
                resource_type(f"r{index}", **fields)

    mocks = RecordingMocks()
    # The same runner as the program's (garbage collection paused alike), so the comparison is fair.
    run_under_mocks(mocks, "bare", "bench", program)
    return len(mocks.registered)


# --- engine ---------------------------------------------------------------------------------

def engine_preview_seconds(project: Path, stack: str) -> float:
    """Wall time of `pulumi preview` of a new stack (every resource a create) in a project copy."""
    start = time.perf_counter()
    result = subprocess.run([str(project / "scripts" / "pulumi_stack.sh"), stack, "preview"], cwd=project,
                            capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"pulumi preview of {stack} failed:\n{result.stderr[-2000:]}")
    return elapsed


def engine_section(sizes: tuple[int, ...], repeats: int) -> tuple[list[str], dict[str, float]]:
    """Engine preview beside the same program under mocks, production and synthetic stacks."""
    lines = ["| stack | resources | engine preview (s) | mocks (s) | engine ÷ mocks |", "|---|---:|---:|---:|---:|"]
    ratios: dict[str, float] = {}
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    mocks: dict[str, float] = {}
    # The loader refuses a catalog outside the project it runs in: the engine reads the project copy's
    # catalog, the mocks side an identical one in this checkout's build/.
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory(dir=ROOT / "build") as local:
        project = copy_project(Path(scratch) / "project")
        runs: list[tuple[str, dict, dict]] = []
        settings, secrets, _ = stack_file_config("production")
        runs.append(("production", settings, secrets))
        for size in sizes:
            stack = f"synthetic-{size}"
            (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(
                {"config": {f"micropay-platform:{key}": value
                            for key, value in synthetic_settings(write_catalog(project, size)).items()}}))
            runs.append((stack, synthetic_settings(write_catalog(Path(local), size)), {}))
        for stack, settings, secrets in runs:
            mocks_seconds, evaluation = median_seconds(lambda: evaluate(stack, copy.deepcopy(settings), secrets), repeats)
            resources = len(evaluation.mocks.registered)
            engine_seconds = engine_preview_seconds(project, stack)
            seconds[stack], ratios[stack] = engine_seconds, engine_seconds / mocks_seconds
            counts[stack], mocks[stack] = resources, mocks_seconds
            lines.append(f"| {stack} | {resources} | {engine_seconds:.1f} | {mocks_seconds:.2f} | "
                         f"{engine_seconds / mocks_seconds:.1f}× |")
    if len(sizes) == 2:
        small, large = (f"synthetic-{size}" for size in sorted(sizes))
        lines += ["", f"Engine preview {max(sizes):,} ÷ {min(sizes):,} services: "
                  f"**{seconds[large] / seconds[small]:.1f}×**."]
        # Per resource, without the fixed start-up (CLI, language host, imports, plugins): the cost of
        # each resource the larger stack adds, on both sides.
        added = counts[large] - counts[small]
        engine_ms = 1000 * (seconds[large] - seconds[small]) / added
        mocks_ms = 1000 * (mocks[large] - mocks[small]) / added
        ratios["marginal"] = engine_ms / mocks_ms
        lines += ["", f"Per added resource ({counts[small]:,} → {counts[large]:,}): engine {engine_ms:.2f} ms, "
                  f"mocks {mocks_ms:.2f} ms: **{engine_ms / mocks_ms:.1f}×**."]
    seconds.update({f"ratio:{stack}": ratio for stack, ratio in ratios.items()})
    return lines, seconds


# --- validation at scale ---------------------------------------------------------------------

def refusal(settings: dict) -> ConfigError:
    """The ConfigError with which load() refuses `settings`."""
    try:
        load("synthetic", settings, {})
    except ConfigError as error:
        return error
    raise AssertionError("a catalog with a mistake was accepted")


def scale_section(sizes: tuple[int, int], repeats: int) -> tuple[list[str], dict[str, float]]:
    """Validation (load: parse, rules, preflight) and full evaluation under mocks at two catalog sizes,
    and the time to refuse the larger catalog with one mistake. Sizes are compared in the process's CPU
    time: on the shared machine a run of minutes gets a varying share of a core, so its wall time says
    more about the neighbours than about the program (5,000 services once took 9.4x the wall time of
    1,000 at a third of a core, and 4.2x the CPU time). The full evaluation of the larger size takes
    minutes, so it runs once."""
    small, large = sizes
    validation, evaluation = {}, {}
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        mistaken = synthetic_settings(write_catalog(Path(scratch), large, mistake=True))
        refused_seconds, error = median_seconds(lambda: refusal(mistaken), repeats)
        for size in sizes:
            settings = synthetic_settings(write_catalog(Path(scratch), size))
            validation[size] = median_seconds(lambda: load("synthetic", settings, {}), repeats, time.process_time)[0]
            evaluation[size] = median_seconds(lambda: evaluate("synthetic", settings, {}), 1, time.process_time)[0]
    (key, _), = error.problems
    lines = [f"Refusal of a {large:,}-service catalog with one mistake (reading the file, every rule; the message "
             f"names the catalog and `{key.removeprefix(mistaken['catalog'] + ': ')}`): **{refused_seconds:.2f} s**.",
             "",
             "| services | validation (CPU s) | full evaluation under mocks (CPU s) |", "|---:|---:|---:|"]
    lines += [f"| {size:,} | {validation[size]:.2f} | {evaluation[size]:.1f} |" for size in sizes]
    figures = {"refusal": refused_seconds, "validation": validation[large] / validation[small],
               "evaluation": evaluation[large] / evaluation[small]}
    lines += ["", f"{large:,} ÷ {small:,} services (linear is {large / small:g}×): validation "
              f"**{figures['validation']:.1f}×**, full evaluation **{figures['evaluation']:.1f}×**."]
    return lines, figures


# --- the run ---------------------------------------------------------------------------------

def run(sizes: tuple[int, ...] = (10, 100, 1000), repeats: int = 5, stacks: list[str] | None = None,
        engine: bool = True, scale_sizes: tuple[int, int] = SCALE_SIZES) -> str:
    lines = ["# Benchmarks", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; medians of {repeats} runs; `make bench` regenerates this file.", ""]

    lines += ["## 1. Program evaluation under mocks, per stack", "",
              "| stack | Kubernetes objects | median (s) | per object (ms) |", "|---|---:|---:|---:|"]
    production_seconds = None
    for stack in stacks or STACKS:
        settings, secrets, _ = stack_file_config(stack)
        seconds, result = median_seconds(lambda: render_config(stack, copy.deepcopy(settings), secrets), repeats)
        count = len(result.manifests)
        production_seconds = seconds if stack == "production" else production_seconds
        lines.append(f"| {stack} | {count} | {seconds:.3f} | {1000 * seconds / count:.2f} |")

    lines += ["", "## 2. Scaling with the catalog size, and 3. component overhead", "",
              "Synthetic catalogs: every service a full MicroService (Deployment, HPA, PDB, NetworkPolicy, "
              "Service, ServiceAccount) plus its ObservabilityBundle (ServiceMonitor, PrometheusRule, dashboard), "
              "over 10 namespaces. *Bare* registers exactly the same objects as plain pulumi_kubernetes resources "
              "(no components, no config parsing), in the same process.", "",
              "| services | Kubernetes objects | components (s) | per object (ms) | bare (s) | components ÷ bare |",
              "|---:|---:|---:|---:|---:|---:|"]
    by_size, overhead = {}, {}
    # Catalogs must live inside the project (the loader refuses any other path), so the scratch is under build/.
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        for size in sizes:
            catalog = write_catalog(Path(scratch), size)
            settings = synthetic_settings(catalog)
            # Components: the program (config parsing + components) evaluated until every registration
            # completes; the renderer's conversion to manifests is not part of either side. The two
            # sides alternate run by run, so drift in the shared machine's load hits both alike.
            manifests = render_config("synthetic", settings, {}).manifests
            component_runs, bare_runs = [], []
            for _ in range(repeats):
                component_runs.append(median_seconds(lambda: evaluate("synthetic", settings, {}), 1)[0])
                bare_runs.append(median_seconds(lambda: register_bare(manifests), 1)[0])
            component_seconds, bare_seconds = statistics.median(component_runs), statistics.median(bare_runs)
            overhead[size] = component_seconds / bare_seconds
            by_size[size] = component_seconds
            lines.append(f"| {size} | {len(manifests)} | {component_seconds:.3f} | "
                         f"{1000 * component_seconds / len(manifests):.2f} | {bare_seconds:.3f} | "
                         f"{component_seconds / bare_seconds:.2f}× |")
    if 100 in by_size and 1000 in by_size:
        lines += ["", f"Ratio 1,000 / 100 services: **{by_size[1000] / by_size[100]:.1f}×** (linear is 10×)."]

    lines += ["", "## 4. The real engine: `pulumi preview` beside the same program under mocks", "",
              "A new stack in render mode (every resource a create), with the plugins `make setup` chose; "
              "mocks: median evaluation of the same config in this process. Per resource the ratio is the "
              "same, both sides registering the same resources.", ""]
    engine_seconds: dict[str, float] = {}
    if engine:
        engine_lines, engine_seconds = engine_section(ENGINE_SIZES, repeats)
        lines += engine_lines
    else:
        lines += ["- skipped (--no-engine)"]

    lines += ["", "## 5. Validation at scale", "",
              "Synthetic catalogs as in section 2; the mistake is a readiness probe on an undeclared port "
              "in the last service. Validation is `load()`, everything done before registration.", ""]
    scale_lines, scale = scale_section(scale_sizes, repeats)
    lines += scale_lines

    lines += ["", "## Targets", "",
              "| target | limit | measured |", "|---|---|---|"]
    if production_seconds is not None:
        lines.append(f"| production evaluation under mocks | ≤ 2 s | {production_seconds:.2f} s |")
    if 100 in by_size and 1000 in by_size:
        lines.append(f"| 1,000 / 100 services | ≤ 11× | {by_size[1000] / by_size[100]:.1f}× |")
    for size, ratio in overhead.items():
        lines.append(f"| component overhead, {size} services | ≤ 1.3× | {ratio:.2f}× |")
    if engine_seconds:
        lines.append(f"| engine preview of production | ≤ 20 s | {engine_seconds['production']:.1f} s |")
        for size in ENGINE_SIZES:
            lines.append(f"| engine ÷ mocks per resource, {size} services | ≤ 3× | "
                         f"{engine_seconds[f'ratio:synthetic-{size}']:.1f}× |")
        lines.append(f"| engine preview 1,000 / 100 services | ≤ 11× | "
                     f"{engine_seconds['synthetic-1000'] / engine_seconds['synthetic-100']:.1f}× |")
        lines.append(f"| engine ÷ mocks per added resource (start-up excluded) | ≤ 3× | "
                     f"{engine_seconds['ratio:marginal']:.1f}× |")
    small, large = scale_sizes
    linear = 1.1 * large / small
    lines += [f"| refusal of {large:,} services with one mistake | ≤ 10 s | {scale['refusal']:.2f} s |",
              f"| validation {large:,} / {small:,} services | ≤ {linear:g}× | {scale['validation']:.1f}× |",
              f"| full evaluation {large:,} / {small:,} services | ≤ {linear:g}× | {scale['evaluation']:.1f}× |"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale-sizes", type=int, nargs=2, default=list(SCALE_SIZES))
    parser.add_argument("--no-engine", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    text = run(tuple(args.sizes), args.repeats, engine=not args.no_engine and shutil.which("bash") is not None,
               scale_sizes=tuple(args.scale_sizes))
    print(text)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
