"""The release plan: each committed stack's, the stack output, and each runbook step in delivery terms."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conftest import STACKS, rendered
from platform_config.loader import load_platform_config
from platform_config.merge import deep_merge
from platform_config.release_plan import describe_change, plan_from_json, plan_text, plan_to_json, release_plan
from platform_config.stack import stack_file_config
from tools.plan import main as plan_main

EXPECTED = Path(__file__).parent / "plans"


def plan_of(stack: str, **services):
    settings, _, _ = stack_file_config(stack)
    settings = deep_merge(copy.deepcopy(settings), {"services": services} if services else {})
    return release_plan(load_platform_config(stack, settings))


@pytest.mark.parametrize("stack", STACKS)
def test_plan_of_each_committed_stack(stack):
    # tests/plans/<stack>.txt is reviewed text: regenerate with `make plan STACK=<stack>` only on purpose.
    assert plan_text(plan_of(stack)) == (EXPECTED / f"{stack}.txt").read_text()


def test_the_plan_is_a_stack_output():
    assert rendered("production").outputs["plan"] == (EXPECTED / "production.txt").read_text()


def test_make_plan_prints_the_plan(capsys):
    assert plan_main(["user-service"]) == 0
    assert capsys.readouterr().out == (EXPECTED / "user-service.txt").read_text()


def test_plan_from_a_git_ref_describes_no_change_for_the_same_config(capsys):
    assert plan_main(["example-service", "--from", "HEAD"]) == 0
    assert capsys.readouterr().out == "no change in delivery terms\n"


def test_a_saved_plan_is_a_starting_point(tmp_path, capsys):
    saved = tmp_path / "before.json"
    assert plan_main(["production", "--save", str(saved)]) == 0
    assert plan_from_json(saved.read_text()) == plan_of("production")
    capsys.readouterr()
    at_rest = plan_of("production", **{"payment-service": PAYMENT_AT_REST})
    saved.write_text(plan_to_json(at_rest))
    assert plan_main(["production", "--from", str(saved)]) == 0
    assert capsys.readouterr().out == (
        "payment-service: preview Service selects blue → green\n"
        "payment-service: + green registry.micropay.com/payment-service:1.1.0 (3–10 pods)\n")


# --- blue-green runbook, from rest to blue scaled down ------------------------------------------

PAYMENT_AT_REST = {"blueGreen": {"active": "blue", "green": {"tag": None}}}
PAYMENT_SWITCHED = {"blueGreen": {"active": "green"}}
BLUE_SCALED_DOWN = {"blueGreen": {"active": "green", "blue": {"replicas": 0}}}


def test_blue_green_step_1_deploys_green_beside_blue():
    assert describe_change(plan_of("production", **{"payment-service": PAYMENT_AT_REST}), plan_of("production")) == (
        "payment-service: preview Service selects blue → green\n"
        "payment-service: + green registry.micropay.com/payment-service:1.1.0 (3–10 pods)\n")


def test_blue_green_step_3_switches_the_selectors_only():
    assert describe_change(plan_of("production"), plan_of("production", **{"payment-service": PAYMENT_SWITCHED})) == (
        "payment-service: active blue → green; Service selectors change; blue keeps 3–10 pods\n")


def test_blue_green_step_5_scales_blue_down():
    before = plan_of("production", **{"payment-service": PAYMENT_SWITCHED})
    after = plan_of("production", **{"payment-service": BLUE_SCALED_DOWN})
    assert describe_change(before, after) == (
        "payment-service: preview Service selects blue → green\n"
        "payment-service: blue 3–10 pods → 0 pods\n")


# --- canary runbook, from rest to promotion -------------------------------------------------------
# micropay-core's headroom stays the same through the release: capacity is proven for the largest step (its
# quota is that peak, so none is left).

CANARY_AT_REST = {"tag": None, "weight": 0, "replicas": None}
HEADROOM = "headroom after: 0 CPU / 0 of limits, 0 pods"


def canary_step(weight: int, replicas: int) -> dict:
    return {"api-gateway": {"canary": {"tag": "1.1.0", "weight": weight, "replicas": replicas}}}


def test_canary_step_1_from_rest():
    at_rest = plan_of("production", **{"api-gateway": {"canary": CANARY_AT_REST}})
    assert describe_change(at_rest, plan_of("production")) == (
        "api-gateway: canary 0 % → 10 % on registry.micropay.com/api-gateway:1.1.0, canary pods 0 pods → 1 pod, "
        f"header route on; {HEADROOM}\n")


@pytest.mark.parametrize("before,after,text", [
    ((10, 1), (50, 2), "api-gateway: canary 10 % → 50 %, canary pods 1 pod → 2 pods, header route on; "),
    ((50, 2), (100, 3), "api-gateway: canary 50 % → 100 %, canary pods 2 pods → 3 pods, header route on; "),
])
def test_canary_weight_steps(before, after, text):
    assert describe_change(plan_of("production", **canary_step(*before)),
                           plan_of("production", **canary_step(*after))) == f"{text}{HEADROOM}\n"


def test_canary_promotion():
    promoted = plan_of("production", **{"api-gateway": {"tag": "1.1.0", "canary": CANARY_AT_REST}})
    assert describe_change(plan_of("production", **canary_step(100, 3)), promoted) == (
        f"api-gateway: canary 100 % → 0 %, canary pods 3 pods → 0 pods, header route off; {HEADROOM}\n"
        "api-gateway: stable image registry.micropay.com/api-gateway:1.0.0 → registry.micropay.com/api-gateway:1.1.0\n")
