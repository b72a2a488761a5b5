"""Pure builders for autoscaling and disruption budgets."""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.models import Autoscaling, DisruptionBudget, ScalingRules, VerticalAutoscaling


def _rules(rules: ScalingRules) -> dict:
    return {
        "stabilizationWindowSeconds": rules.stabilization_window_seconds,
        "selectPolicy": rules.select_policy,
        "policies": [{"type": policy.type, "value": policy.value, "periodSeconds": policy.period_seconds}
                     for policy in rules.policies],
    }


def horizontal_autoscaler(deployment: str, scaling: Autoscaling, min_replicas: int | None = None) -> dict:
    metrics = [
        {"type": "Resource", "resource": {"name": resource,
                                          "target": {"type": "Utilization", "averageUtilization": target}}}
        for resource, target in (("cpu", scaling.cpu_utilization), ("memory", scaling.memory_utilization))
        if target is not None
    ]
    metrics += [
        {"type": "Pods", "pods": {"metric": {"name": metric.name},
                                  "target": {"type": "AverageValue", "averageValue": metric.average_value}}}
        for metric in scaling.pods_metrics
    ]
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicas": min_replicas if min_replicas is not None else scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "metrics": metrics,
    }
    if scaling.behavior:
        spec["behavior"] = {"scaleUp": _rules(scaling.behavior.scale_up),
                            "scaleDown": _rules(scaling.behavior.scale_down)}
    return spec


def disruption_budget(selector: dict[str, str], budget: DisruptionBudget) -> dict:
    spec: dict = {"selector": {"matchLabels": selector},
                  "unhealthyPodEvictionPolicy": budget.unhealthy_pod_eviction_policy}
    if budget.min_available is not None:
        spec["minAvailable"] = budget.min_available
    else:
        spec["maxUnavailable"] = budget.max_unavailable if budget.max_unavailable is not None else 1
    return spec


@dataclass(frozen=True)
class VpaPlan:
    update_mode: str
    controlled_resources: tuple[str, ...]
    warning: str | None


def plan_vertical_autoscaler(service: str, horizontal: Autoscaling, vertical: VerticalAutoscaling) -> VpaPlan:
    """Keep a VPA from acting on a resource that an HPA scales on.

    Both would react to the same utilisation, the HPA by adding pods and the VPA by resizing
    them, and they chase each other. A VPA that would act on such a resource keeps only the
    resources the HPA leaves alone; if none are left it drops to recommendation mode.
    """
    wanted = tuple(vertical.controlled_resources)
    if vertical.update_mode == "Off" or not horizontal.enabled:
        return VpaPlan(vertical.update_mode, wanted, None)
    contested = horizontal.scaled_resources & set(wanted)
    if not contested:
        return VpaPlan(vertical.update_mode, wanted, None)
    free = tuple(resource for resource in wanted if resource not in contested)
    if free:
        return VpaPlan(vertical.update_mode, free, (
            f"{service}: the HPA scales on {', '.join(sorted(contested))}, so the VPA ({vertical.update_mode}) "
            f"now controls only {', '.join(free)}"))
    return VpaPlan("Off", wanted, (
        f"{service}: the HPA scales on {', '.join(sorted(contested))}; a VPA in {vertical.update_mode} mode "
        "would fight it, so it runs in recommendation mode (updateMode: Off)"))


def vertical_autoscaler(deployment: str, container: str, vertical: VerticalAutoscaling, plan: VpaPlan) -> dict:
    policy: dict = {"containerName": container, "controlledResources": list(plan.controlled_resources)}
    if vertical.min_allowed:
        policy["minAllowed"] = vertical.min_allowed.as_dict()
    if vertical.max_allowed:
        policy["maxAllowed"] = vertical.max_allowed.as_dict()
    return {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "updatePolicy": {"updateMode": plan.update_mode},
        "resourcePolicy": {"containerPolicies": [policy]},
    }
