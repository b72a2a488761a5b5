"""What every config model shares: the model base (camelCase keys, frozen, unknown keys refused) and the
field formats checked as a value is read (DNS labels, pinned tags, canonical quantities, owned annotations).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..quantities import QuantityError, canonical_quantity


DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


HTTP_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


# The OCI distribution spec's tag grammar; \w in ASCII only, as there.
IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)


PROBE_PATH = re.compile(r"^/[^\s]*$")


def _without_cleared(value: Any) -> Any:
    """`null` clears an inherited entry of a name -> text map (an env var, a label), or the whole map,
    as the layering promises."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value


# A map of names to text (env, labels, annotations, config data) in which `KEY: null` removes KEY.
StringMap = Annotated[dict[str, str], BeforeValidator(_without_cleared)]


class Model(BaseModel):
    # allow_inf_nan=False: YAML's .inf and .nan are floats, but no threshold or ratio can be either.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              allow_inf_nan=False)

    def __deepcopy__(self, memo: dict | None = None) -> "Model":
        # Pydantic deep-copies a model default (``Observability()``, ``Canary()``...) into every
        # instance: 2.3 of 9.3 s when loading 5,000 services (benchmarks/profiling.md). A frozen
        # model, whose maps nothing mutates in place, can be shared instead.
        return self


def _dns_label(value: str) -> str:
    if len(value) > 63 or not DNS1123_LABEL.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid DNS-1123 label: use at most 63 lower-case letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    return value


def _pinned(value: str) -> str:
    if value == "latest" or not IMAGE_TAG.fullmatch(value):
        raise ValueError(f"'{value}' is not a pinned image tag: use a release tag such as 1.0.0 "
                         "('latest' is never allowed)")
    return value


def _quantity(value: str | int | float) -> str:
    try:
        canonical = canonical_quantity(value)
    except QuantityError as error:
        raise ValueError(str(error)) from None
    # The grammar allows a sign, but no amount this config sets (resources, sizes, quotas) may be negative.
    if canonical.startswith("-"):
        raise ValueError(f"'{value}' is negative: write an amount of zero or more, such as 500m or 512Mi")
    return canonical


Name = Annotated[str, Field(min_length=1)]


CONTROLLER_OWNED_ANNOTATIONS = ("deployment.kubernetes.io/revision",)


def _annotations(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if key in CONTROLLER_OWNED_ANNOTATIONS:
            raise ValueError(f"'{key}' is set by the Deployment controller and must not be written by hand: "
                             "record the release in kubernetes.io/change-cause instead")
    return value
