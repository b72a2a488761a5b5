"""Kubernetes resource quantities, parsed and written the way the API server returns them.

The API server canonicalises every quantity it stores (``1000m`` comes back as ``1``,
``1.5Gi`` as ``1536Mi``). Writing the canonical form ourselves keeps ``pulumi preview``
free of diffs that only reformat a number.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_QUANTITY = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


# A catalog repeats a few quantities in every service: parsing each once keeps validation of
# thousands of services from spending its time in Fraction arithmetic (benchmarks/profiling.md).
# typed=True: True must not be answered from the cache entry of 1.
@lru_cache(maxsize=4096, typed=True)
def parse_quantity(text: str | int | float) -> tuple[Fraction, bool]:
    """Return (value in base units, written with a binary suffix)."""
    raw = str(text).strip()
    match = _QUANTITY.match(raw)
    if not match:
        raise QuantityError(
            f"'{raw}' is not a Kubernetes quantity: write a number with an optional suffix, "
            "such as 500m or 2 for CPU and 512Mi or 4Gi for memory"
        )
    suffix = match.group("suffix")
    number = Fraction(match.group("number"))
    if suffix in _BINARY:
        return number * _BINARY[suffix], True
    return number * _DECIMAL[suffix], False


@lru_cache(maxsize=4096, typed=True)
def canonical_quantity(text: str | int | float) -> str:
    """Format a quantity as the API server would return it."""
    return format_quantity(*parse_quantity(text))


def format_quantity(value: Fraction, binary: bool) -> str:
    """Write an exact value (base units) in canonical form; ``binary`` picks Ki/Mi/Gi over k/M/G."""
    if value == 0:
        return "0"
    if binary and value.denominator == 1:
        for suffix, factor in sorted(_BINARY.items(), key=lambda item: -item[1]):
            if value % factor == 0:
                return f"{value // factor}{suffix}"
        return str(value.numerator)
    for suffix in ("E", "P", "T", "G", "M", "k", "", "m", "u", "n"):
        scaled = value / _DECIMAL[suffix]
        if scaled.denominator == 1:
            return f"{scaled.numerator}{suffix}"
    # Finer than a nano unit: the API server rounds up to the next nano unit.
    return f"{-(-value.numerator * 10**9 // value.denominator)}n"


def quantity_value(text: str | int | float) -> Fraction:
    return parse_quantity(text)[0]
