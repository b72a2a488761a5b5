import os
import shutil
import time
from functools import lru_cache

import pytest

from platform_config.paths import PROJECT_ROOT as ROOT
from platform_config.stack import stack_names
from tools import cluster
from tools.kube_api import KubeClient
from tools.pins import pin
from tools.render import RenderResult, dump, render_stack

STACKS = stack_names(ROOT)


@lru_cache(maxsize=None)
def rendered(stack: str) -> RenderResult:
    return render_stack(stack)


@lru_cache(maxsize=None)
def rendered_text(stack: str) -> str:
    """The stack's objects as `make render` writes them."""
    return dump(rendered(stack).manifests)


def objects(stack: str, kind: str | None = None) -> list[dict]:
    return [item for item in rendered(stack).manifests if kind is None or item["kind"] == kind]


def find(stack: str, kind: str, name: str, namespace: str | None = None) -> dict:
    matches = [item for item in objects(stack, kind) if item["metadata"]["name"] == name
               and (namespace is None or item["metadata"].get("namespace") == namespace)]
    assert len(matches) == 1, f"{stack}: expected one {kind} {name}, found {len(matches)}"
    return matches[0]


# Istio's injection template reads these pod annotations for istio-proxy's resources (and istio-init's).
ISTIO_PROXY_ANNOTATIONS = {("requests", "cpu"): "sidecar.istio.io/proxyCPU",
                           ("limits", "cpu"): "sidecar.istio.io/proxyCPULimit",
                           ("requests", "memory"): "sidecar.istio.io/proxyMemory",
                           ("limits", "memory"): "sidecar.istio.io/proxyMemoryLimit"}


def injected_proxy(template: dict) -> dict | None:
    """The istio-proxy container Istio's injector adds to a pod of ``template`` in an injected namespace.

    Read from the rendered template alone, as the injector reads it: None when the pod opts out with
    ``sidecar.istio.io/inject: "false"`` (label or annotation); a template without the annotations
    fails here, since the proxy would then be the installation's size, unknown to the capacity check.
    """
    metadata = template["metadata"]
    annotations = metadata.get("annotations", {})
    if "false" in (annotations.get("sidecar.istio.io/inject"), metadata.get("labels", {}).get("sidecar.istio.io/inject")):
        return None
    resources: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    for (section, resource), key in ISTIO_PROXY_ANNOTATIONS.items():
        resources[section][resource] = annotations[key]
    return {"name": "istio-proxy", "resources": resources}


def injected_namespaces(manifests: list[dict]) -> set[str]:
    return {item["metadata"]["name"] for item in manifests if item["kind"] == "Namespace"
            and item["metadata"].get("labels", {}).get("istio-injection") == "enabled"}


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param


# --- the local cluster, shared by the cluster test modules (started once per session, on demand) ---

TEST_DIR = ROOT / "build" / "test-cluster"
# Its own ports, so a cluster of `make cluster` (16443) is left alone; two checkouts testing at once
# set MICROPAY_TEST_CLUSTER_PORT apart (each uses the port and the next five).
TEST_PORT = int(os.environ.get("MICROPAY_TEST_CLUSTER_PORT", "17443"))
# The target is 30 s; on this 2-core machine shared with three Go builds (load 12-20) a start
# measured 21-33 s, so the test allows 45 s: it catches a start that hangs or degrades, not load noise.
START_BUDGET_SECONDS = 45


def wait_until(what: str, check, timeout: float = 120.0, interval: float = 0.5):
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` and the last answer."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last state: {last}")


@pytest.fixture(scope="session")
def cluster_env():
    """Point tools.cluster at the test cluster's directory and ports for the whole session."""
    saved = {key: os.environ.get(key) for key in (cluster.DIR_ENV, cluster.PORT_ENV)}
    os.environ[cluster.DIR_ENV] = str(TEST_DIR)
    os.environ[cluster.PORT_ENV] = str(TEST_PORT)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def started(cluster_env) -> float:
    """A fresh cluster; the seconds its start took (the binaries are built first, outside the timing)."""
    cluster.binaries()
    cluster.down()
    begin = time.monotonic()
    cluster.up()
    elapsed = time.monotonic() - begin
    yield elapsed
    cluster.down()


@pytest.fixture(scope="session")
def kube(started) -> KubeClient:
    return cluster.admin_client()


@pytest.fixture(scope="module")
def cluster_engine(kube, tmp_path_factory):
    """The real engine (tests/test_engine.py's project copy) with the project's plugins in cluster mode."""
    from test_engine import Engine

    engine = Engine(tmp_path_factory.mktemp("cluster-engine"))
    engine.env["KUBECONFIG"] = str(cluster.kubeconfig_path())
    version = pin("pulumi-kubernetes")
    if not (engine.has_plugin("kubernetes", version)
            or shutil.which("pulumi-resource-kubernetes", path=engine.env["PATH"])):
        pytest.fail(f"the kubernetes resource plugin v{version} is not installed: run `make setup`")
    return engine
