import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from platform_config.stack import stack_names  # noqa: E402
from tools.render import RenderResult, render_stack  # noqa: E402

STACKS = stack_names(ROOT)


@lru_cache(maxsize=None)
def rendered(stack: str) -> RenderResult:
    return render_stack(stack)


def objects(stack: str, kind: str | None = None) -> list[dict]:
    return [item for item in rendered(stack).manifests if kind is None or item["kind"] == kind]


def find(stack: str, kind: str, name: str, namespace: str | None = None) -> dict:
    matches = [item for item in objects(stack, kind) if item["metadata"]["name"] == name
               and (namespace is None or item["metadata"].get("namespace") == namespace)]
    assert len(matches) == 1, f"{stack}: expected one {kind} {name}, found {len(matches)}"
    return matches[0]


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param
