"""Kubernetes resource quantities, parsed and written the way the API server does (the one parser of
the project: config models, capacity, release plan and the policy pack all read quantities here).

The grammar is apimachinery's ``resource.Quantity``::

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedDigits> | "E" <signedDigits>
    <signedNumber>    ::= [+|-] (<digits> | <digits>. | <digits>.<digits> | .<digits>)

The API server canonicalises every quantity it stores in the format it was written in (``1000m``
comes back as ``1``, ``1.5Gi`` as ``1536Mi``, ``1000e3`` as ``1e6``). Writing the canonical form
ourselves keeps ``pulumi preview`` free of diffs that only reformat a number.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]?))$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


# A catalog repeats a few quantities in every service: parsing each once keeps validation of
# thousands of services from spending its time in Fraction arithmetic (benchmarks/profiling.md).
# typed=True: True must not be answered from the cache entry of 1. The answer (a Fraction and a
# format name) is immutable, so a cached one can be shared.
@lru_cache(maxsize=4096, typed=True)
def parse_quantity(text: str | int | float) -> tuple[Fraction, str]:
    """Return (exact value in base units, the format it was written in: BINARY_SI, DECIMAL_SI or
    DECIMAL_EXPONENT)."""
    # A YAML or engine boolean is never an amount, though str(True) might look like a word to reject later.
    raw = "" if isinstance(text, bool) else str(text).strip()
    match = _QUANTITY.match(raw)
    if not match:
        raise QuantityError(
            f"'{raw}' is not a Kubernetes quantity: write a number with an optional suffix, "
            "such as 500m or 2 for CPU and 512Mi or 4Gi for memory"
        )
    number = Fraction(match["number"])
    if match["binary"]:
        return number * _BINARY[match["binary"]], BINARY_SI
    if match["exponent"] is not None:
        return number * Fraction(10) ** int(match["exponent"]), DECIMAL_EXPONENT
    return number * Fraction(10) ** _DECIMAL[match["decimal"]], DECIMAL_SI


def quantity_value(text: str | int | float) -> Fraction:
    return parse_quantity(text)[0]


@lru_cache(maxsize=4096, typed=True)
def canonical_quantity(text: str | int | float) -> str:
    """Format a quantity as the API server would return it."""
    return format_quantity(*parse_quantity(text))


def format_quantity(value: Fraction, form: str) -> str:
    """Write an exact value (base units) in canonical form for ``form`` (BINARY_SI, DECIMAL_SI or
    DECIMAL_EXPONENT), as apimachinery's Quantity.Canonicalize does."""
    if value == 0:
        return "0"
    sign, value = ("-" if value < 0 else ""), abs(value)
    # Binary only for whole amounts of at least 1Ki; anything else is written in decimal, never rounded.
    if form == BINARY_SI and value.denominator == 1 and value >= 1024:
        for suffix, factor in sorted(_BINARY.items(), key=lambda item: -item[1]):
            if value % factor == 0:
                return f"{sign}{value // factor}{suffix}"
        return f"{sign}{value.numerator}"
    # In nano units, rounded up where finer (the API server keeps nothing below a nano unit).
    nanos = -(-value.numerator * 10**9 // value.denominator)
    exponent = -9
    while nanos % 10 == 0:
        nanos //= 10
        exponent += 1
    # The exponent a multiple of three (a suffix's), and at most E's 18 in decimal SI.
    while exponent % 3 or (form != DECIMAL_EXPONENT and exponent > 18):
        nanos *= 10
        exponent -= 1
    if form == DECIMAL_EXPONENT:
        return f"{sign}{nanos}" + (f"e{exponent}" if exponent else "")
    suffix = next(name for name, power in _DECIMAL.items() if power == exponent)
    return f"{sign}{nanos}{suffix}"
