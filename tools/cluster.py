"""A local Kubernetes control plane with simulated nodes, for ``make cluster`` and the cluster tests.

    python -m tools.cluster up        # start (harmless when running), wait for /readyz, nodes, CRDs
    python -m tools.cluster down      # stop every process and remove build/cluster
    python -m tools.cluster status

etcd, kube-apiserver, kube-controller-manager and kube-scheduler (built by scripts/cluster_build.sh)
run on 127.0.0.1 only, with a generated CA and certificates, RBAC and the default admission plugins
(PodSecurity, ResourceQuota, LimitRanger, ServiceAccount, ...). kwok plays the kubelets: the node
pools of seed 001 over three zones, pods marked Running/Ready with an IP, so EndpointSlices get ready
endpoints. The custom resource definitions the stacks use are generated from the JSON schemas in
``../shared/schemas/crds`` at start, so the API server validates every custom resource.

Ports: ``MICROPAY_CLUSTER_PORT`` (default 16443) for the API server and the next five for etcd
(client, peer), the controller-manager, the scheduler and kwok. ``MICROPAY_CLUSTER_DIR`` (default
build/cluster) holds certificates, etcd data, logs, pids and the kubeconfig.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from platform_config.paths import PROJECT_ROOT as ROOT
from tools.kube_api import ApiError, KubeClient, is_true
from validation.schemas import crd_schema_locations

DIR_ENV = "MICROPAY_CLUSTER_DIR"
DEFAULT_DIR = ROOT / "build" / "cluster"
PORT_ENV = "MICROPAY_CLUSTER_PORT"
DEFAULT_PORT = 16443
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"            # the `kubernetes` Service: first address of SERVICE_CIDR
FIELD_MANAGER = "micropay-cluster"
ZONES = ("zone-a", "zone-b", "zone-c")
ZONE_LABEL = "topology.kubernetes.io/zone"
POOL_LABEL = "micropay.io/node-pool"
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class NodePool:
    """One node type of seed 001 ("Cluster Topology"), ``per_zone`` nodes in each of ZONES."""
    name: str
    cpu: int
    memory_gib: int
    per_zone: int
    purpose: str


# Seed 001: general purpose 8 CPU/32 GB, compute optimised 16 CPU/64 GB (payment, transaction),
# memory optimised 8 CPU/64 GB (balance, reporting). 15 nodes, within the seed's cluster-autoscaler
# maximum of 20: 144 CPU / 672 GiB against production's 66 CPU / 132 GiB of requests at its HPA
# maxima, leaving room for a release's surge and the runbooks' second colour and canary pods
# (tests/test_cluster.py's peak test shows whether it is enough).
NODE_POOLS = (
    NodePool("general", 8, 32, 3, "general purpose"),
    NodePool("compute", 16, 64, 1, "compute optimised: payment-service, transaction-service"),
    NodePool("memory", 8, 64, 1, "memory optimised: balance-service, reporting-service"),
)
PODS_PER_NODE = 110
# The namespaces of the operators whose CRDs are installed: on a real platform cluster they exist
# before any stack runs (a stack places e.g. its Velero Schedule in `velero`).
OPERATOR_NAMESPACES = ("istio-system", "monitoring", "cert-manager", "external-secrets", "velero")


class ClusterError(RuntimeError):
    """Something the user must fix (a port in use, a missing binary): the message says what."""


# --- layout ---------------------------------------------------------------------------------------

def cluster_dir() -> Path:
    """Where one cluster keeps its certificates, data, logs and pids (the tests use their own)."""
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR).resolve()


def kubeconfig_path() -> Path:
    return cluster_dir() / "kubeconfig"


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def ports(base: int | None = None) -> dict[str, int]:
    base = base or int(os.environ.get(PORT_ENV, DEFAULT_PORT))
    return {"kube-apiserver": base, "etcd": base + 1, "etcd-peer": base + 2,
            "kube-controller-manager": base + 3, "kube-scheduler": base + 4, "kwok": base + 5}


def pki_dir() -> Path:
    return cluster_dir() / "pki"


def server_url() -> str:
    return f"https://127.0.0.1:{ports()['kube-apiserver']}"


def admin_client() -> KubeClient:
    pki = pki_dir()
    return KubeClient(server_url(), pki / "ca.crt", pki / "admin.crt", pki / "admin.key")


def binaries() -> dict[str, Path]:
    """Paths of the built binaries, building them first if needed (a no-op once built)."""
    result = subprocess.run([str(ROOT / "scripts" / "cluster_build.sh"), "--print-env"],
                            stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise ClusterError("scripts/cluster_build.sh failed (its messages are above); the cluster needs "
                           "etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok")
    dirs = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    kube, etcd, kwok = (Path(shlex.split(dirs[key])[0]) for key in
                        ("MICROPAY_KUBE_BIN", "MICROPAY_ETCD_BIN", "MICROPAY_KWOK_BIN"))
    return {"etcd": etcd / "etcd", "kube-apiserver": kube / "kube-apiserver",
            "kube-controller-manager": kube / "kube-controller-manager",
            "kube-scheduler": kube / "kube-scheduler", "kwok": kwok / "kwok"}


# --- certificates ---------------------------------------------------------------------------------

def openssl(*args: str, stdin: str | None = None) -> None:
    result = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()[-500:]}")


def issue(name: str, subject: str, *, server_names: tuple[str, ...] = (), client: bool = True) -> None:
    """An EC P-256 key and a certificate signed by the cluster CA, for a server and/or a client."""
    pki = pki_dir()
    key, crt, csr = pki / f"{name}.key", pki / f"{name}.crt", pki / f"{name}.csr"
    if crt.exists() and key.exists():
        return
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    usages = ["clientAuth"] if client else []
    extensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
    if server_names:
        usages.append("serverAuth")
        extensions.append("subjectAltName=" + ",".join(
            f"IP:{item}" if item[0].isdigit() else f"DNS:{item}" for item in server_names))
    extensions.append("extendedKeyUsage=" + ",".join(usages))
    extfile = pki / f"{name}.ext"
    extfile.write_text("\n".join(extensions) + "\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(extfile), "-out", str(crt))
    csr.unlink()
    extfile.unlink()


def make_pki() -> None:
    pki = pki_dir()
    pki.mkdir(parents=True, exist_ok=True)
    os.chmod(pki, 0o700)
    if not (pki / "ca.crt").exists():
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pki / "ca.key"))
        openssl("req", "-x509", "-new", "-key", str(pki / "ca.key"), "-subj", "/CN=micropay-local-ca",
                "-days", "30", "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", "-out", str(pki / "ca.crt"))
    loopback = ("127.0.0.1", "localhost")
    issue("etcd", "/CN=etcd", server_names=loopback)    # its gateway dials itself with this certificate
    issue("apiserver-etcd-client", "/CN=kube-apiserver-etcd-client")
    issue("apiserver", "/CN=kube-apiserver", client=False, server_names=(
        *loopback, SERVICE_IP, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local"))
    issue("admin", "/O=system:masters/CN=micropay-admin")
    issue("controller-manager", "/CN=system:kube-controller-manager")
    issue("scheduler", "/CN=system:kube-scheduler")
    # kwok acts for every kubelet; a node identity per simulated node would buy nothing here.
    issue("kwok", "/O=system:masters/CN=kwok")
    if not (pki / "sa.key").exists():
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pki / "sa.key"))
        openssl("ec", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def kubeconfig(user: str, path: Path) -> Path:
    """A kubeconfig for ``user`` (a certificate in pki/) with the data embedded, written as JSON (valid YAML)."""
    pki = pki_dir()

    def data(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": "micropay-local", "preferences": {},
        "clusters": [{"name": "micropay-local", "cluster": {
            "server": server_url(), "certificate-authority-data": data("ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate-data": data(f"{user}.crt"),
                                          "client-key-data": data(f"{user}.key")}}],
        "contexts": [{"name": "micropay-local", "context": {"cluster": "micropay-local", "user": user}}],
    }
    text = json.dumps(document, indent=2) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        os.chmod(path, 0o600)
    return path


# --- processes ------------------------------------------------------------------------------------

def pid_file(name: str) -> Path:
    return cluster_dir() / "run" / f"{name}.pid"


def running_pid(name: str, binary: Path | None = None) -> int | None:
    """The pid of our ``name`` process if it is alive (and runs ``binary`` when given)."""
    try:
        pid = int(pid_file(name).read_text())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return None
    if state in ("Z", "X"):
        return None         # exited, not yet reaped
    # An empty command line: the process is between fork and exec, or a kernel thread never ours.
    return pid if not program or program.endswith(str(binary) if binary else f"/{name}") else None


def port_owner(port: int) -> str:
    """Who listens on 127.0.0.1:``port``, as far as `ss` can tell (empty if unknown)."""
    try:
        result = subprocess.run(["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return " ".join(result.stdout.split())


def check_port_free(name: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            owner = port_owner(port)
            raise ClusterError(
                f"port {port} on 127.0.0.1, needed by {name}, is in use"
                f"{' (' + owner + ')' if owner else ''}. Stop that process, or choose other ports: "
                f"{PORT_ENV}=<base> (uses base..base+5; default {DEFAULT_PORT})") from None


def start_process(name: str, binary: Path, args: list[str]) -> None:
    logs = cluster_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pid_file(name).parent.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen([str(binary), *args], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=cluster_dir())
    pid_file(name).write_text(f"{process.pid}\n")
    print(f"==> cluster: started {name} (pid {process.pid}, log {shown(cluster_dir())}/logs/{name}.log)", flush=True)


def stop_process(name: str) -> None:
    pid = running_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and running_pid(name) == pid:
        time.sleep(0.1)
    if running_pid(name) == pid:
        os.kill(pid, signal.SIGKILL)
    pid_file(name).unlink(missing_ok=True)
    print(f"==> cluster: stopped {name} (pid {pid})", flush=True)


def wait_for(what: str, check, timeout: float = START_TIMEOUT, process: str | None = None) -> None:
    """Poll ``check()`` until true; on time-out (or when ``process`` died) say where its log is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process and running_pid(process) is None:
            raise ClusterError(f"{process} exited while waiting for {what}: {tail(process)}")
        try:
            if check():
                return
        except (OSError, ApiError, ValueError):
            pass
        time.sleep(0.2)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}" + (f": {tail(process)}" if process else ""))


def tail(name: str, lines: int = 5) -> str:
    """Where ``name``'s log is and its last lines, for an error message."""
    log = cluster_dir() / "logs" / f"{name}.log"
    try:
        last = " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        last = "no log"
    return f"see {shown(log)} (last lines: {last})"


# --- components -----------------------------------------------------------------------------------

def component_args(name: str, binary: Path) -> list[str]:
    pki, port = pki_dir(), ports()
    if name == "etcd":
        client, peer = f"https://127.0.0.1:{port['etcd']}", f"http://127.0.0.1:{port['etcd-peer']}"
        return ["--name=micropay-local", f"--data-dir={cluster_dir() / 'etcd'}",
                f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=micropay-local={peer}",
                f"--cert-file={pki / 'etcd.crt'}", f"--key-file={pki / 'etcd.key'}",
                f"--trusted-ca-file={pki / 'ca.crt'}", "--client-cert-auth",
                "--quota-backend-bytes=2147483648", "--log-level=warn", "--unsafe-no-fsync"]
    if name == "kube-apiserver":
        return [
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port[name]}",
            f"--etcd-servers=https://127.0.0.1:{port['etcd']}", f"--etcd-cafile={pki / 'ca.crt'}",
            f"--etcd-certfile={pki / 'apiserver-etcd-client.crt'}",
            f"--etcd-keyfile={pki / 'apiserver-etcd-client.key'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}", "--authorization-mode=RBAC", "--anonymous-auth=false",
            # As on real clusters: privileged pods are for Pod Security admission to refuse.
            "--allow-privileged=true",
            # The defaults already include these; naming them makes a silently dropped one an error.
            "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,"
            "ResourceQuota,DefaultStorageClass,DefaultTolerationSeconds,MutatingAdmissionWebhook,"
            "ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,Priority,StorageObjectInUseProtection,"
            "PersistentVolumeClaimResize,RuntimeClass,CertificateApproval,CertificateSigning,"
            "CertificateSubjectRestriction,TaintNodesByCondition",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            # Loopback may not be an endpoint address: no reconciled `kubernetes` endpoints.
            "--endpoint-reconciler-type=none", "--profiling=false", "--v=0",
        ]
    common = [f"--kubeconfig={cluster_dir() / f'{name}.kubeconfig'}",
              f"--authentication-kubeconfig={cluster_dir() / f'{name}.kubeconfig'}",
              f"--authorization-kubeconfig={cluster_dir() / f'{name}.kubeconfig'}",
              "--bind-address=127.0.0.1", f"--secure-port={port[name]}", "--leader-elect=false",
              f"--cert-dir={cluster_dir() / name}", "--profiling=false"]
    if name == "kube-controller-manager":
        return [*common, "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}"]
    if name == "kube-scheduler":
        return common
    if name == "kwok":
        stages = sorted(binary.parent.glob("stages/*.yaml"))
        if not stages:
            raise ClusterError(f"no kwok stages beside {binary}: run scripts/cluster_build.sh")
        return [*(f"--config={stage}" for stage in stages), f"--kubeconfig={cluster_dir() / 'kwok.kubeconfig'}",
                f"--manage-nodes-with-annotation-selector={'='.join(KWOK_ANNOTATION)}",
                "--manage-all-nodes=false", f"--server-address=127.0.0.1:{port['kwok']}",
                "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16", "--node-ip=127.0.0.1"]
    raise KeyError(name)


KUBECONFIG_USERS = {"kube-controller-manager": "controller-manager", "kube-scheduler": "scheduler", "kwok": "kwok"}
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def etcd_healthy() -> bool:
    pki = pki_dir()
    client = KubeClient(f"https://127.0.0.1:{ports()['etcd']}", pki / "ca.crt",
                        pki / "apiserver-etcd-client.crt", pki / "apiserver-etcd-client.key", timeout=2)
    return client.request("GET", "/health").get("health") == "true"


def apiserver_ready() -> bool:
    return admin_client().request("GET", "/readyz", timeout=2) == "ok"


def up() -> None:
    started = time.monotonic()
    paths = binaries()
    cluster_dir().mkdir(parents=True, exist_ok=True)
    to_start = [name for name in ORDER if running_pid(name, paths[name]) is None]
    if not to_start and apiserver_ready():
        print(f"==> cluster: already running ({server_url()}); kubeconfig {shown(kubeconfig_path())}")
    for name in to_start:
        check_port_free(name, ports()[name])
        if name == "etcd":
            check_port_free("etcd (peer)", ports()["etcd-peer"])
    make_pki()
    for name, user in KUBECONFIG_USERS.items():
        kubeconfig(user, cluster_dir() / f"{name}.kubeconfig")
    kubeconfig("admin", kubeconfig_path())
    for name in ORDER:
        if name in to_start:
            start_process(name, paths[name], component_args(name, paths[name]))
        if name == "etcd":
            wait_for("etcd /health", etcd_healthy, process="etcd")
        elif name == "kube-apiserver":
            wait_for("kube-apiserver /readyz", apiserver_ready, process="kube-apiserver")
    client = admin_client()
    install_crds(client)
    for namespace in OPERATOR_NAMESPACES:
        client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                     field_manager=FIELD_MANAGER)
    register_nodes(client)
    wait_for("every simulated node Ready", lambda: nodes_ready(client), process="kwok")
    wait_for("the default ServiceAccount", lambda: client.get_or_none("v1", "ServiceAccount", "default", "default"),
             process="kube-controller-manager")
    print(f"==> cluster: ready in {time.monotonic() - started:.1f}s at {server_url()}: "
          f"{len(node_objects())} nodes, {len(crd_objects())} CRDs; kubeconfig {shown(kubeconfig_path())}",
          flush=True)


def down() -> None:
    for name in reversed(ORDER):
        stop_process(name)
    if cluster_dir().exists():
        subprocess.run(["rm", "-rf", str(cluster_dir())], check=True)
        print(f"==> cluster: removed {shown(cluster_dir())}", flush=True)


def status() -> int:
    paths_known = cluster_dir().exists()
    alive = {name: running_pid(name) for name in ORDER} if paths_known else {}
    for name in ORDER:
        print(f"{name:25} {'pid ' + str(alive[name]) if alive.get(name) else 'not running'}")
    return 0 if alive and all(alive.values()) else 1


# --- nodes ----------------------------------------------------------------------------------------

def node_objects() -> list[dict]:
    nodes = []
    for pool in NODE_POOLS:
        for zone in ZONES:
            for index in range(pool.per_zone):
                name = f"{pool.name}-{zone}-{index}"
                capacity = {"cpu": str(pool.cpu), "memory": f"{pool.memory_gib}Gi", "pods": str(PODS_PER_NODE),
                            "ephemeral-storage": "100Gi"}
                nodes.append({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name,
                                 "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1],
                                                 "node.alpha.kubernetes.io/ttl": "0",
                                                 "micropay.io/node-pool-purpose": pool.purpose},
                                 "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                            "kubernetes.io/arch": "amd64", "type": "kwok",
                                            ZONE_LABEL: zone, "topology.kubernetes.io/region": "local",
                                            POOL_LABEL: pool.name,
                                            "node.kubernetes.io/instance-type":
                                                f"{pool.name}-{pool.cpu}cpu-{pool.memory_gib}gb"}},
                    "spec": {"podCIDR": f"10.244.{len(nodes)}.0/24"},
                    "status": {"capacity": capacity, "allocatable": capacity},
                })
    return nodes


def register_nodes(client: KubeClient) -> None:
    """Create the simulated nodes (their status is only taken on create; kwok keeps it current)."""
    for node in node_objects():
        if client.get_or_none("v1", "Node", node["metadata"]["name"]) is None:
            client.create(node)


def nodes_ready(client: KubeClient) -> bool:
    wanted = {node["metadata"]["name"] for node in node_objects()}
    ready = {node["metadata"]["name"] for node in client.list("v1", "Node") if is_true(node, "Ready")}
    return wanted <= ready


# --- custom resource definitions -------------------------------------------------------------------

# The kubeconform schema files are named {group}/{kind lower-case}_{version}.json: the kind's
# spelling and scope are not in them.
CRD_KINDS = {
    "virtualservice": "VirtualService", "destinationrule": "DestinationRule", "gateway": "Gateway",
    "serviceentry": "ServiceEntry", "peerauthentication": "PeerAuthentication",
    "authorizationpolicy": "AuthorizationPolicy", "requestauthentication": "RequestAuthentication",
    "servicemonitor": "ServiceMonitor", "podmonitor": "PodMonitor", "prometheusrule": "PrometheusRule",
    "verticalpodautoscaler": "VerticalPodAutoscaler", "certificate": "Certificate", "issuer": "Issuer",
    "clusterissuer": "ClusterIssuer", "externalsecret": "ExternalSecret", "secretstore": "SecretStore",
    "clustersecretstore": "ClusterSecretStore", "schedule": "Schedule",
}
CLUSTER_SCOPED = {"ClusterIssuer", "ClusterSecretStore"}
# Inside anyOf/oneOf/allOf/not a structural schema may only carry value validations.
STRUCTURAL_ONLY_OUTSIDE = ("type", "description", "default", "additionalProperties", "nullable", "title")


def plural(kind: str) -> str:
    lower = kind.lower()
    return lower[:-1] + "ies" if lower.endswith("y") and lower[-2] not in "aeiou" else lower + "s"


def structural(schema: object, in_junction: bool = False) -> object:
    """A kubeconform JSON schema made a structural CRD schema.

    kubeconform adds ``additionalProperties: false`` beside ``properties`` for strict checking; a CRD
    may not say that, and needs none: the API server prunes, and server-side apply refuses, fields the
    schema does not declare."""
    if isinstance(schema, list):
        return [structural(item, in_junction) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {}
    for key, value in schema.items():
        if key == "additionalProperties" and (value is False or "properties" in schema):
            continue
        if in_junction and (key in STRUCTURAL_ONLY_OUTSIDE or key.startswith("x-kubernetes-")):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            result[key] = {name: structural(item) for name, item in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "not"):
            result[key] = structural(value, True)
        elif key in ("items", "additionalProperties"):
            result[key] = structural(value, in_junction)
        else:
            result[key] = value
    return result


def approval(group: str) -> dict[str, str]:
    """Groups under k8s.io are reserved to reviewed APIs; the VPA's carries its approval (as upstream's does)."""
    if group.endswith((".k8s.io", ".kubernetes.io")):
        return {"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"}
    return {}


def crd_objects() -> list[dict]:
    """One CustomResourceDefinition per group/kind, every schema version served, v1 (else the newest) stored."""
    directory = next((path for path in crd_schema_locations() if path.is_dir()), None)
    if directory is None:
        raise ClusterError("no CRD JSON schemas found (looked in: "
                           + ", ".join(str(path) for path in crd_schema_locations()) + ")")
    grouped: dict[tuple[str, str], dict[str, dict]] = {}
    for path in sorted(directory.glob("*/*.json")):
        lower, version = path.stem.rsplit("_", 1)
        if lower not in CRD_KINDS:
            raise ClusterError(f"{path}: kind '{lower}' has no entry in tools/cluster.py CRD_KINDS "
                               "(add its CamelCase name)")
        schema = structural(json.loads(path.read_text()))
        assert isinstance(schema, dict)
        properties = schema.setdefault("properties", {})
        properties.update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"type": "object"}})
        schema["type"] = "object"
        grouped.setdefault((path.parent.name, CRD_KINDS[lower]), {})[version] = schema
    crds = []
    for (group, kind), versions in sorted(grouped.items()):
        storage = "v1" if "v1" in versions else sorted(versions)[-1]
        crds.append({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural(kind)}.{group}", "annotations": approval(group)},
            "spec": {"group": group, "scope": "Cluster" if kind in CLUSTER_SCOPED else "Namespaced",
                     "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural(kind),
                               "singular": kind.lower()},
                     "versions": [{"name": version, "served": True, "storage": version == storage,
                                   "schema": {"openAPIV3Schema": schema},
                                   "subresources": {"status": {}} if "status" in schema["properties"] else {}}
                                  for version, schema in sorted(versions.items())]},
        })
    return crds


def install_crds(client: KubeClient) -> None:
    crds = crd_objects()
    for crd in crds:
        try:
            client.apply(crd, field_manager=FIELD_MANAGER)
        except ApiError as error:
            raise ClusterError(f"CustomResourceDefinition {crd['metadata']['name']} refused: {error}") from None
    names = [crd["metadata"]["name"] for crd in crds]
    wait_for("every CustomResourceDefinition Established", lambda: all(
        is_true(client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name), "Established")
        for name in names))
    client.forget_discovery()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    command = parser.parse_args(argv).command
    try:
        if command == "up":
            up()
        elif command == "down":
            down()
        else:
            return status()
    except ClusterError as error:
        print(f"error: cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
