"""Stack files and catalogs are read as the Pulumi CLI reads them, and what it would read otherwise is refused.

Each case writes a project (stack file, catalogs) into a temporary directory and reads it the way
both the offline renderer and the engine's program do (``stack_file_config`` then ``load``).
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from platform_config.loader import ConfigError
from platform_config.paths import PROJECT_ROOT as ROOT
from platform_config.stack import split_config, stack_file_config, stack_names
from platform_config.yaml_source import YamlProblem, load_yaml
from platform_program import load

DEVELOPMENT = (ROOT / "Pulumi.development.yaml").read_text()


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copytree(ROOT / "catalogs", tmp_path / "catalogs")
    return tmp_path


def read(project: Path, stack_file: str, stack: str = "development"):
    (project / f"Pulumi.{stack}.yaml").write_text(textwrap.dedent(stack_file))
    settings, secrets, plain = stack_file_config(stack, project)
    return load(stack, settings, secrets, frozenset(plain), root=project)


def problems(project: Path, stack_file: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        read(project, stack_file)
    assert str(caught.value).startswith("stack 'development': invalid configuration")
    return caught.value.problems


def test_the_committed_development_stack_reads_unchanged(project):
    assert len(read(project, DEVELOPMENT).services) == 12


def test_a_key_written_twice_in_the_stack_file_is_refused_with_both_lines(project):
    twice = DEVELOPMENT.replace("  micropay-platform:services:", "  micropay-platform:defaults:\n"
                                "    replicas: 2\n  micropay-platform:services:")
    line = twice.splitlines().index("  micropay-platform:defaults:", 20) + 1
    first = twice.splitlines().index("  micropay-platform:defaults:") + 1
    assert problems(project, twice) == [(f"Pulumi.development.yaml:{line}", (
        f"key 'micropay-platform:defaults' is written twice in one mapping (first at line {first}), and only one "
        "of them would count; merge the two entries into one"))]


def test_a_service_written_twice_in_the_catalog_is_refused_naming_the_catalog_line(project):
    catalog = project / "catalogs" / "micropay.yaml"
    text = catalog.read_text()
    catalog.write_text(text.replace("\n  user-service:\n", "\n  user-service:\n    replicas: 2\n  user-service:\n", 1))
    line = catalog.read_text().splitlines().index("  user-service:", text.splitlines().index("  user-service:") + 1)
    [(where, message)] = problems(project, DEVELOPMENT)
    assert where == f"catalogs/micropay.yaml:{line + 1}"
    assert message.startswith("key 'user-service' is written twice in one mapping")


def test_tab_indentation_names_the_line_and_says_use_spaces(project):
    tabbed = DEVELOPMENT.replace("    environment: development", "\tenvironment: development")
    [(where, message)] = problems(project, tabbed)
    assert where == f"Pulumi.development.yaml:{tabbed.splitlines().index(chr(9) + 'environment: development') + 1}"
    assert message.endswith("indent with spaces: YAML does not allow tabs for indentation")


def test_config_written_as_a_list_is_refused(project):
    assert problems(project, "config:\n  - micropay-platform:catalog: catalogs/micropay.yaml\n") == [(
        "Pulumi.development.yaml: config", "expected a mapping of `micropay-platform:<key>: <value>` entries; "
        "write each key on its own line under `config:`")]


def test_a_key_without_the_project_prefix_belongs_to_the_project_as_the_cli_decides(project):
    unprefixed = DEVELOPMENT.replace("micropay-platform:defaults:", "defaults:")
    assert read(project, unprefixed) == read(project, DEVELOPMENT)


def test_a_misspelt_project_prefix_is_refused_rather_than_ignored(project):
    misspelt = DEVELOPMENT.replace("micropay-platform:services:", "micropay-platfrom:services:")
    [(key, message)] = problems(project, misspelt)
    assert key == "micropay-platfrom:services"
    assert message.startswith("unknown config namespace 'micropay-platfrom'; did you mean 'micropay-platform'?")


def test_default_provider_keys_are_refused_with_the_key_that_works(project):
    [(key, message)] = problems(project, DEVELOPMENT.replace("config:\n", "config:\n  kubernetes:context: kind\n"))
    assert key == "kubernetes:context"
    assert "set `micropay-platform:cluster` instead" in message


def test_an_unquoted_version_is_refused_with_the_advice_to_quote_it(project):
    unquoted = DEVELOPMENT.replace("      ingress: {host: api.micropay.localhost, tlsSecret: api-gateway-tls}",
                                   "      tag: 1.10")
    [(key, message)] = problems(project, unquoted)
    assert key == "services.api-gateway.tag"
    assert "got the number 1.1" in message and "write the value in quotes" in message


LAUGHS = "".join(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]\n" for level in range(1, 8))


@pytest.mark.parametrize("extra,line,words", [
    # l5 is the first level past a million values (1,111,111).
    ("  l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]\n" + LAUGHS, 6,
     "aliases expand this value to more than 1,000,000 values; write the values out, or nest fewer aliases"),
    ("  micropay-platform:peers: &loop {again: *loop}\n", 1,
     "an alias names the value that contains it, so the value never ends; write the value out without the alias"),
    ("  micropay-platform:peers: " + "[" * 100 + "]" * 100 + "\n", 1,
     "values nest more than 64 levels deep; flatten the structure"),
], ids=["billion-laughs", "alias-inside-itself", "nested-100-deep"])
def test_documents_the_program_could_not_hold_are_refused_at_their_line(project, extra, line, words):
    """Parsed cheaply, they would exhaust memory or end in a RecursionError when merged or validated."""
    text = DEVELOPMENT.replace("config:\n", "config:\n" + extra, 1)
    [(where, message)] = problems(project, text)
    first = text.splitlines().index("config:") + 1
    assert (where, message) == (f"Pulumi.development.yaml:{first + line}", words)


def test_the_same_shapes_in_a_catalog_name_the_catalog_line(project):
    catalog = project / "catalogs" / "micropay.yaml"
    catalog.write_text(catalog.read_text().replace("\nservices:\n", "\nservices:\n  loop: &loop {again: *loop}\n", 1))
    [(where, message)] = problems(project, DEVELOPMENT)
    assert where.startswith("catalogs/micropay.yaml:") and "the value never ends" in message


def test_yes_no_on_off_stay_strings_as_the_cli_reads_them():
    assert load_yaml("a: no\nb: yes\nc: on\nd: off\ne: true\nf: False\n") == {
        "a": "no", "b": "yes", "c": "on", "d": "off", "e": True, "f": False}


def test_null_clears_an_inherited_env_var(project):
    cleared = DEVELOPMENT.replace("    replicas: 1\n", "    replicas: 1\n    env:\n      SPRING_CLOUD_CONFIG_URI: null\n")
    config = read(project, cleared)
    assert "SPRING_CLOUD_CONFIG_URI" not in config.services["user-service"].env
    assert "SPRING_CLOUD_CONFIG_URI" in read(project, DEVELOPMENT).services["user-service"].env


def test_a_provided_secret_written_in_plain_text_is_refused_without_echoing_it(project):
    planning = (ROOT / "Pulumi.planning-production.yaml").read_text()
    lines = planning.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("  micropay-platform:planning-jwt-secret-key:"))
    end = next(index for index in range(start + 1, len(lines)) if not lines[index].startswith("    "))
    plain = "\n".join(lines[:start] + ["  micropay-platform:planning-jwt-secret-key: s3cr3t-in-the-open"] + lines[end:])
    (project / "Pulumi.planning-production.yaml").write_text(plain + "\n")
    settings, secrets, plain_keys = stack_file_config("planning-production", project)
    with pytest.raises(ConfigError) as caught:
        load("planning-production", settings, secrets, frozenset(plain_keys), root=project)
    assert caught.value.problems == [("micropay-platform:planning-jwt-secret-key", (
        "secret for services.financial-planning-api.secrets[financial-planning-secrets].JWT_SECRET_KEY is written in "
        "plain text in Pulumi.planning-production.yaml; store it encrypted with "
        "`pulumi config set --secret planning-jwt-secret-key <value>`"))]
    assert "s3cr3t-in-the-open" not in str(caught.value)


def test_a_numeric_secret_in_plain_text_is_a_secret_refused_without_echoing_it(project):
    """The engine hands every scalar to the program as text: `password: 24680` is a secret written in plain
    text for the renderer too, not a setting with a misleading 'unknown key'."""
    planning = (ROOT / "Pulumi.planning-production.yaml").read_text()
    lines = planning.splitlines()
    start = next(index for index, line in enumerate(lines)
                 if line.startswith("  micropay-platform:planning-database-password:"))
    end = next(index for index in range(start + 1, len(lines)) if not lines[index].startswith("    "))
    numeric = lines[:start] + ["  micropay-platform:planning-database-password: 24680"] + lines[end:]
    (project / "Pulumi.planning-production.yaml").write_text("\n".join(numeric) + "\n")
    settings, secrets, plain_keys = stack_file_config("planning-production", project)
    assert secrets["planning-database-password"] == "24680" and "planning-database-password" in plain_keys
    with pytest.raises(ConfigError) as caught:
        load("planning-production", settings, secrets, frozenset(plain_keys), root=project)
    [(key, message)] = caught.value.problems
    assert key == "micropay-platform:planning-database-password"
    assert "written in plain text" in message and "pulumi config set --secret planning-database-password" in message
    assert "24680" not in str(caught.value)


@pytest.mark.parametrize("catalog,key,words,fix", [
    ("../catalogs/micropay.yaml", "micropay-platform:catalog", "is outside the project",
     "keep the catalog in this repository"),
    ("catalogs", "micropay-platform:catalog", "is a directory", "name the catalog file in it, e.g. catalogs/micropay.yaml"),
    ("catalogs/missing.yaml", "micropay-platform:catalog", "catalog file 'catalogs/missing.yaml' not found",
     "name a file under catalogs/"),
    ("catalogs/empty.yaml", "catalogs/empty.yaml: services", "the catalog declares no services, so the stack would "
     "delete every workload", "run `pulumi destroy` if removing everything is what you want"),
    ("catalogs/broken.yaml", "catalogs/broken.yaml:2", "not valid YAML", "correct the YAML syntax there"),
    ("catalogs/list.yaml", "micropay-platform:catalog", "must hold a mapping", "services, namespaces"),
    ("catalogs/misspelt.yaml", "catalogs/misspelt.yaml: servces", "unknown key", "did you mean 'services'?"),
])
def test_catalog_paths_that_cannot_hold_a_system_are_refused(project, catalog, key, words, fix):
    (project / "catalogs" / "empty.yaml").write_text("namespaces: {}\nservices: {}\n")
    (project / "catalogs" / "broken.yaml").write_text("services: [\n")
    (project / "catalogs" / "list.yaml").write_text("- services\n")
    (project / "catalogs" / "misspelt.yaml").write_text("servces: {}\n")
    [(problem_key, message)] = problems(project, DEVELOPMENT.replace("catalogs/micropay.yaml", catalog))
    assert problem_key == key
    assert words in message and fix in message


def test_split_config_reports_every_foreign_namespace_at_once():
    with pytest.raises(ConfigError) as caught:
        split_config("s", {"micropay-platform:catalog": "c.yaml", "aws:region": "x", "random:seed": "1",
                           "pulumi:tags": "{}"}, set())
    assert [key for key, _ in caught.value.problems] == ["aws:region", "random:seed"]


def test_yaml_problem_names_line_message_and_fix():
    with pytest.raises(YamlProblem) as caught:
        load_yaml("a:\n  b: [1, 2\n")
    assert caught.value.line == 3 and "not valid YAML" in caught.value.message


def test_a_refusal_prints_the_message_alone():
    """No asyncio noise ("Task was destroyed but it is pending") before or after the message."""
    import subprocess
    import sys

    script = textwrap.dedent("""
        from platform_config.loader import ConfigError
        from platform_config.stack import stack_file_config
        from tools.render import render_config
        settings, secrets, _ = stack_file_config("development")
        settings["defaults"]["replcas"] = 2
        try:
            render_config("development", settings, secrets)
        except ConfigError as error:
            print(error)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stderr == ""
    assert result.stdout.startswith("stack 'development': invalid configuration (1 problem)\n")


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    from tools.engine_project import copy_project

    return copy_project(tmp_path_factory.mktemp("cli") / "project")


def replace(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


@pytest.mark.parametrize("stack,edit,problems_line,lines", [
    ("development", replace("    replicas: 1\n", "    replcas: 1\n"), "(1 problem)",
     ["  - defaults.replcas: unknown key; did you mean 'replicas'?"]),
    ("development", replace("    environment: development", "\tenvironment: development"), "(1 problem)",
     ["  - Pulumi.development.yaml:6: not valid YAML (while scanning for the next token found character that "
      "cannot start any token); indent with spaces: YAML does not allow tabs for indentation"]),
    ("development", replace("    antiAffinity: none\n", "    antiAffinity: none\n    labels: {app: x, team name: y}\n"),
     "(2 problems)", ["  - defaults.labels.app: the program sets 'app' itself and selects pods by it; remove it, or "
                      "choose another label name", "  - defaults.labels.team name: 'team name' is not a valid label "
                      "name; use an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', "
                      "starting and ending with a letter or digit"]),
    ("planning-production", lambda text: re.sub(r"(planning-database-password:)\n    secure: \S+\n", r"\1 24680\n", text),
     "(1 problem)",
     ["  - micropay-platform:planning-database-password: secret for services.financial-planning-api.secrets"
      "[financial-planning-secrets].DATABASE_PASSWORD is written in plain text in Pulumi.planning-production.yaml; store "
      "it encrypted with `pulumi config set --secret planning-database-password <value>`"]),
], ids=["unknown-key", "yaml-syntax", "two-rule-problems", "plain-numeric-secret"])
def test_make_render_refuses_with_the_message_alone_and_writes_nothing(project_copy, stack, edit, problems_line, lines):
    """The command a user runs: exit status 2, one line per problem on stderr, no traceback, no asyncio noise,
    no secret value, nothing on stdout and no render file."""
    import subprocess

    original = (project_copy / f"Pulumi.{stack}.yaml").read_text()
    assert edit(original) != original
    (project_copy / f"Pulumi.{stack}.yaml").write_text(edit(original))
    out = project_copy / "build" / "refused.yaml"
    try:
        result = subprocess.run([str(project_copy / ".venv" / "bin" / "python"), "-m", "tools.render", stack, "--out",
                                 str(out)], cwd=project_copy, capture_output=True, text=True, timeout=300)
    finally:
        (project_copy / f"Pulumi.{stack}.yaml").write_text(original)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"error: stack '{stack}': invalid configuration {problems_line}", *lines]
    assert not out.exists()


def test_a_mistake_in_stack_defaults_is_one_problem_named_where_it_was_written(project):
    assert problems(project, DEVELOPMENT.replace("    replicas: 1\n", "    replcas: 1\n")) == [
        ("defaults.replcas", "unknown key; did you mean 'replicas'?")]


def test_a_mistake_in_the_catalog_names_the_catalog_file_and_its_key_path(project):
    catalog = project / "catalogs" / "micropay.yaml"
    catalog.write_text(catalog.read_text().replace("\n  user-service:\n", "\n  user-service:\n    replcas: 2\n", 1))
    assert problems(project, DEVELOPMENT) == [
        ("catalogs/micropay.yaml: services.user-service.replcas", "unknown key; did you mean 'replicas'?")]


@pytest.mark.parametrize("value", ["REPLACE_ME", "TODO", "<password>", "   ", "\t", "change me", "xxxxxxxx", "Fix-Me"])
def test_placeholder_and_blank_secret_values_are_refused_without_echoing_them(value):
    settings, secrets, _ = stack_file_config("planning-production")
    secrets = {key: "kT9#vQ2$wL8!pZ4&" for key in secrets} | {"planning-database-password": value}
    with pytest.raises(ConfigError) as caught:
        load("planning-production", settings, secrets)
    # One message whatever the value, so the value never reaches it.
    assert caught.value.problems == [("micropay-platform:planning-database-password", (
        "secret for services.financial-planning-api.secrets[financial-planning-secrets].DATABASE_PASSWORD"
        " still holds a placeholder; set the real value with "
        "`pulumi config set --secret planning-database-password <value>`"))]


def test_the_stacks_are_the_stack_files_and_a_missing_one_names_them(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.finance-week3.yaml", "Pulumi.dev.yml", "notes.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    assert stack_names(tmp_path) == ["finance-week3", "staging"]
    with pytest.raises(FileNotFoundError) as caught:
        stack_file_config("production", tmp_path)
    assert str(caught.value) == "no stack file Pulumi.production.yaml; stacks: finance-week3, staging"
