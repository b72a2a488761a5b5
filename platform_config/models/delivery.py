"""Blue-green colours and the Istio canary: the release state of a service and its traffic policy.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from .base import HTTP_HEADER_NAME, Model, StringMap, _annotations, _pinned
from .workload import Autoscaling, DisruptionBudget


class Colour(Model):
    """One colour of a blue-green pair. A colour without a tag is not deployed."""

    tag: str | None = None
    replicas: int | None = Field(default=None, ge=0)
    annotations: StringMap = {}

    _tag = field_validator("tag")(lambda value: None if value is None else _pinned(value))
    _owned = field_validator("annotations")(lambda value: _annotations(value))


class BlueGreen(Model):
    active: Literal["blue", "green"] = "blue"
    blue: Colour = Colour()
    green: Colour = Colour()

    @property
    def idle(self) -> str:
        return "green" if self.active == "blue" else "blue"

    def colour(self, name: str) -> Colour:
        return self.blue if name == "blue" else self.green


class ConnectionPool(Model):
    max_connections: int = Field(default=100, ge=1)
    http1_max_pending_requests: int = Field(default=100, ge=1)
    http2_max_requests: int = Field(default=1000, ge=1)
    max_requests_per_connection: int = Field(default=10, ge=1)


class OutlierDetection(Model):
    consecutive5xx_errors: int = Field(default=5, ge=1, alias="consecutive5xxErrors")
    interval: str = "30s"
    base_ejection_time: str = "30s"
    max_ejection_percent: int = Field(default=50, ge=1, le=100)


class TrafficPolicy(Model):
    """The circuit breaker of the DestinationRule (seed 002)."""

    connection_pool: ConnectionPool = ConnectionPool()
    outlier_detection: OutlierDetection = OutlierDetection()
    consistent_hash: Literal["none", "sourceIp", "cookie"] = "none"
    hash_cookie: str = "micropay-session"
    hash_cookie_ttl: str = "3600s"


class Canary(Model):
    """The canary track of an Istio canary. Without a tag there is no canary."""

    tag: str | None = None
    weight: int = Field(default=0, ge=0, le=100)
    replicas: int | None = Field(default=None, ge=0)
    header: str = "canary"
    header_value: str = "true"
    steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(default=[10, 50, 100], min_length=1, description=(
        "The weights the release goes through; capacity is proven for the canary at the largest one, so a "
        "release never stalls half-way on the namespace quota."))
    autoscaling: Autoscaling | None = None
    disruption_budget: DisruptionBudget | None = None
    annotations: StringMap = {}
    traffic_policy: TrafficPolicy = TrafficPolicy()
    overrides: dict[str, Any] = Field(default={}, description=(
        "Service keys in which the canary's pods differ (resources, env, probes, labels, lifecycle...), merged "
        "over the service's own; keys of the whole service are refused."))

    _tag = field_validator("tag")(lambda value: None if value is None else _pinned(value))
    _owned = field_validator("annotations")(lambda value: _annotations(value))

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not HTTP_HEADER_NAME.fullmatch(value):
            raise ValueError(f"'{value}' is not a valid HTTP header name: use letters, digits and '-'")
        return value.lower()
