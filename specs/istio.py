"""Pure builders for Istio traffic objects (networking.istio.io/v1)."""

from __future__ import annotations

from platform_config.models import Canary, TrafficPolicy


def service_host(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.cluster.local"


def traffic_policy(policy: TrafficPolicy) -> dict:
    pool, outliers = policy.connection_pool, policy.outlier_detection
    result = {
        "connectionPool": {
            "tcp": {"maxConnections": pool.max_connections},
            "http": {"http1MaxPendingRequests": pool.http1_max_pending_requests,
                     "http2MaxRequests": pool.http2_max_requests,
                     "maxRequestsPerConnection": pool.max_requests_per_connection},
        },
        "outlierDetection": {
            "consecutive5xxErrors": outliers.consecutive5xx_errors,
            "interval": outliers.interval,
            "baseEjectionTime": outliers.base_ejection_time,
            "maxEjectionPercent": outliers.max_ejection_percent,
        },
    }
    if policy.consistent_hash == "sourceIp":
        result["loadBalancer"] = {"consistentHash": {"useSourceIp": True}}
    elif policy.consistent_hash == "cookie":
        result["loadBalancer"] = {"consistentHash": {"httpCookie": {"name": policy.hash_cookie,
                                                                    "ttl": policy.hash_cookie_ttl}}}
    return result


def destination_rule(host: str, tracks: list[str], policy: TrafficPolicy) -> dict:
    """One subset per track, matching the pods' ``version`` label.

    A canary service declares both subsets even at rest: a release step then only adds the canary
    Deployment and changes the VirtualService, and a subset always exists before a route names it.
    """
    return {
        "host": host,
        "trafficPolicy": traffic_policy(policy),
        "subsets": [{"name": track, "labels": {"version": track}} for track in tracks],
    }


def virtual_service(host: str, port: int, canary: Canary, has_canary: bool) -> dict:
    """Header override first (like Flagger), then the weighted split; stable only without a canary.

    Without a canary image there is no header route: it would send `canary: true` requests to a
    subset with no pods, which Istio answers with 503 (no healthy upstream).
    """

    def destination(subset: str, weight: int) -> dict:
        return {"destination": {"host": host, "subset": subset, "port": {"number": port}}, "weight": weight}

    routes = []
    if has_canary:
        routes.append({
            "name": "canary-header",
            "match": [{"headers": {canary.header: {"exact": canary.header_value}}}],
            "route": [destination("canary", 100)],
        })
        weighted = [destination("stable", 100 - canary.weight), destination("canary", canary.weight)]
    else:
        weighted = [destination("stable", 100)]
    routes.append({"name": "weighted", "route": weighted})
    return {"hosts": [host], "http": routes}
