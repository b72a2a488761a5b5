"""The benchmark script keeps working (a tiny run; `make bench` does the real one)."""

import tempfile
from pathlib import Path

import pytest

from benchmarks.run import (ROOT, add_mistake, refusal, register_bare, run, synthetic_catalog, synthetic_settings,
                            write_catalog)
from tools.render import render_stack


def test_small_benchmark_run_produces_every_section():
    text = run(sizes=(3, 6), repeats=1, stacks=["example-service"], engine=False, scale_sizes=(4, 8))
    assert "| example-service |" in text
    assert "| 3 |" in text and "| 6 |" in text
    assert "components ÷ bare" in text
    assert "names the catalog and `services.svc-0007.probes.readiness.port`" in text
    assert "| refusal of 8 services with one mistake | ≤ 10 s |" in text
    assert "| full evaluation 8 / 4 services | ≤ 2.2× |" in text
    assert "production evaluation" not in text  # only measured when the production stack is in the run


def test_bare_registration_registers_every_object():
    manifests = render_stack("example-service").manifests
    assert register_bare(manifests) == len(manifests)


def test_synthetic_catalog_shape():
    catalog = synthetic_catalog(25)
    assert len(catalog["services"]) == 25
    assert len({service["namespace"] for service in catalog["services"].values()}) == 10


@pytest.mark.parametrize("services", [10, 100, 1000])
def test_synthetic_catalogs_pass_the_preflight_at_every_benchmarked_size(services):
    """The benchmark measures the program, not a refusal: its quotas must hold every size's peak."""
    from platform_program import load

    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        config = load("synthetic", synthetic_settings(write_catalog(Path(scratch), services)), {})
    assert len(config.services) == services


def test_rendering_pauses_the_garbage_collector_only_while_registering(monkeypatch):
    import gc

    import platform_program
    from tools.render import render_stack as render

    states = []
    real_deploy = platform_program.deploy

    def recording_deploy(*args, **kwargs):
        states.append(gc.isenabled())
        return real_deploy(*args, **kwargs)

    monkeypatch.setattr(platform_program, "deploy", recording_deploy)
    render("example-service")
    assert states == [False]
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_mistake_in_the_last_of_5000_services_is_refused_with_its_exact_key():
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        settings = synthetic_settings(write_catalog(Path(scratch), 5000, mistake=True))
        error = refusal(settings)
    assert error.problems == [(f"{settings['catalog']}: services.svc-4999.probes.readiness.port", "the container "
                               "declares no port named 'admin'; use one of: http, or a port number")]
    assert str(error).startswith("stack 'synthetic': invalid configuration (1 problem)")


def test_the_mistake_is_named_where_the_benchmark_says():
    catalog = synthetic_catalog(12)
    assert add_mistake(catalog) == "services.svc-0011.probes.readiness.port"
    assert catalog["services"]["svc-0011"]["probes"]["readiness"]["port"] == "admin"


def test_validation_grows_linearly_with_the_catalog():
    """Five times the services costs about five times the validation (a quadratic step would cost 25x).
    CPU time, best of three runs per size, so the neighbours on the shared machine do not decide it."""
    import time

    from platform_program import load

    (ROOT / "build").mkdir(exist_ok=True)
    seconds = {}
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        for services in (500, 2500):
            settings = synthetic_settings(write_catalog(Path(scratch), services))
            runs = []
            for _ in range(3):
                start = time.process_time()
                load("synthetic", settings, {})
                runs.append(time.process_time() - start)
            seconds[services] = min(runs)
    assert seconds[2500] / seconds[500] < 8, seconds


def test_a_mistake_in_defaults_inherited_by_5000_services_is_one_problem():
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        settings = synthetic_settings(write_catalog(Path(scratch), 5000))
        error = refusal({**settings, "defaults": {"labels": {"app": "svc"}}})
    assert error.problems == [("defaults.labels.app", "the program sets 'app' itself and selects pods by it; remove it, "
                                                      "or choose another label name")]
