"""The one quantity parser (platform_config/quantities.py): apimachinery's grammar and canonical form,
as the config models, capacity figures and the policy pack all read it."""

from fractions import Fraction

import pytest

from platform_config.loader import ConfigError
from platform_config.quantities import (BINARY_SI, DECIMAL_EXPONENT, DECIMAL_SI, QuantityError, canonical_quantity,
                                        format_quantity, parse_quantity)
from platform_program import load
from policy import rules
from test_config_validation import with_service


@pytest.mark.parametrize("written, value, form, canonical", [
    ("500m", Fraction(1, 2), DECIMAL_SI, "500m"),
    ("0.5", Fraction(1, 2), DECIMAL_SI, "500m"),
    ("1000m", Fraction(1), DECIMAL_SI, "1"),
    ("1500m", Fraction(3, 2), DECIMAL_SI, "1500m"),
    ("2", Fraction(2), DECIMAL_SI, "2"),
    (2, Fraction(2), DECIMAL_SI, "2"),
    (0.5, Fraction(1, 2), DECIMAL_SI, "500m"),
    ("0", Fraction(0), DECIMAL_SI, "0"),
    ("-1", Fraction(-1), DECIMAL_SI, "-1"),
    ("+2", Fraction(2), DECIMAL_SI, "2"),
    ("5.", Fraction(5), DECIMAL_SI, "5"),
    (".5", Fraction(1, 2), DECIMAL_SI, "500m"),
    ("1000M", Fraction(10**9), DECIMAL_SI, "1G"),
    ("1E", Fraction(10**18), DECIMAL_SI, "1E"),           # exa, not an exponent
    ("1n", Fraction(1, 10**9), DECIMAL_SI, "1n"),
    ("1e3", Fraction(1000), DECIMAL_EXPONENT, "1e3"),
    ("1E3", Fraction(1000), DECIMAL_EXPONENT, "1e3"),
    ("1000e3", Fraction(10**6), DECIMAL_EXPONENT, "1e6"),
    ("1.5e3", Fraction(1500), DECIMAL_EXPONENT, "1500"),
    ("1e-3", Fraction(1, 1000), DECIMAL_EXPONENT, "1e-3"),
    ("1Ki", Fraction(1024), BINARY_SI, "1Ki"),
    ("1.5Gi", Fraction(3 * 2**29), BINARY_SI, "1536Mi"),
    ("1024Mi", Fraction(2**30), BINARY_SI, "1Gi"),
    ("100Gi", Fraction(100 * 2**30), BINARY_SI, "100Gi"),
    ("0.5Ki", Fraction(512), BINARY_SI, "512"),             # under 1Ki: written in decimal
    ("0.9Gi", Fraction(9 * 2**30, 10), BINARY_SI, "966367641600m"),  # not whole: decimal, never rounded
])
def test_quantities_parse_to_exact_values_and_canonical_text(written, value, form, canonical):
    assert parse_quantity(written) == (value, form)
    assert canonical_quantity(written) == canonical
    assert parse_quantity(canonical)[0] == value


def test_an_amount_below_a_nano_unit_rounds_up_to_one():
    assert parse_quantity("0.1n") == (Fraction(1, 10**10), DECIMAL_SI)
    assert canonical_quantity("0.1n") == "1n"
    assert canonical_quantity("1.0000000001") == "1000000001n"


@pytest.mark.parametrize("bad", ["", " ", "2 Gi", "1.5.0", "4gb", "Gi", "1ki", "1Mb", ".", "-", "e3", "1e",
                                 "1e3.5", "1e3Mi", "--1", "0x10", "1_000", True, None])
def test_anything_else_is_not_a_quantity(bad):
    with pytest.raises(QuantityError, match="is not a Kubernetes quantity"):
        parse_quantity(bad)
    assert rules.quantity(bad) is None


def test_capacity_figures_are_written_in_the_resource_s_format():
    assert format_quantity(Fraction(176 * 2**30), BINARY_SI) == "176Gi"
    assert format_quantity(Fraction(87, 10), DECIMAL_SI) == "8700m"
    assert format_quantity(Fraction(-3, 2), DECIMAL_SI) == "-1500m"
    assert format_quantity(Fraction(2 * 10**21), DECIMAL_SI) == "2000E"
    assert format_quantity(Fraction(2 * 10**21), DECIMAL_EXPONENT) == "2e21"


@pytest.mark.parametrize("request_, limit, above", [
    ("1e3", "1k", False), ("1001", "1e3", True), ("1001m", "1", True), ("1.5Gi", "1536Mi", False), ("1537Mi", "1.5Gi", True),
])
def test_the_policy_pack_compares_with_the_same_parser(request_, limit, above):
    pod = {"containers": [{"name": "app", "resources": {"requests": {"cpu": request_, "memory": request_},
                                                        "limits": {"cpu": limit, "memory": limit}}}]}
    problems = rules.resources_requests_limits("Pod", {"metadata": {"name": "p"}, "spec": pod}, rules.Context("dev"))
    assert len(problems) == (2 if above else 0), problems


@pytest.mark.parametrize("resources, key", [
    ({"requests": {"cpu": "-1"}}, "services.user-service.resources.requests.cpu"),
    ({"limits": {"memory": "-1Gi"}}, "services.user-service.resources.limits.memory"),
])
def test_config_refuses_negative_amounts_the_grammar_allows(resources, key):
    with pytest.raises(ConfigError) as caught:
        load("development", with_service("user-service", resources=resources), {})
    assert [problem for problem in caught.value.problems if problem[0] == key] == [
        (key, f"'{resources[key.split('.')[-2]][key.split('.')[-1]]}' is negative: write an amount of zero or more, "
              "such as 500m or 512Mi")], caught.value.problems


def test_config_takes_exponent_quantities_in_their_canonical_form():
    config = load("development", with_service("user-service", resources={"requests": {"cpu": "100e-3"}}), {})
    assert config.services["user-service"].resources.requests.cpu == "100e-3"
