"""Issue 14: what a newcomer meets on the command line says what happened, helps with a
wrong name, and follows the conventions of the ecosystem's tools. Each test failed on the
code before (a summary counting alerts no file held, "no SLO named" without help, no -V)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
from click.testing import CliRunner
from conftest import ROOT, cli, errors_of, invoke, sloth_spec

from slo_compiler.cli import cli as main_group

ANSI = re.compile(r"\x1b\[")


def test_summary_counts_what_was_written_per_kind(repo: Path) -> None:
    """With Grafana evaluating the alerts, `--target prometheus` writes no alert: the
    summary says so instead of "30 alerts in 7 files"."""
    result = invoke("compile", "--target", "prometheus", "--out", "only-rules", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "6 SLOs -> 9 files under only-rules/ (9 added, 0 changed, 0 removed): "
        "6 Prometheus rule files (114 recording rules)"
    )
    full = invoke("compile", "--out", "all", cwd=repo).stdout.splitlines()[0]
    assert full.endswith(
        "6 Prometheus rule files (114 recording rules), 23 promtool test files, "
        "6 Grafana alert rule files (36 alerts), 6 dashboards, 9 Kubernetes manifests"
    )


def test_check_hint_repeats_its_flags_and_plus_adds_a_target(repo: Path) -> None:
    result = invoke("check", "--target", "prometheus", "--out", "generated", cwd=repo)
    assert result.returncode == 1
    assert "run `slo-compiler compile --target prometheus` and commit" in result.stderr
    plus = invoke("compile", "--target", "+prometheus-operator", "--out", "plus", cwd=repo)
    assert plus.returncode == 0, plus.stderr
    assert (repo / "plus/k8s/prometheus-operator/payment-service.yaml").is_file()
    assert (repo / "plus/grafana/dashboards/payment-service.json").is_file()
    bad = invoke("compile", "--target", "+nope", cwd=repo)
    assert bad.returncode == 2 and "(or +NAME)" in bad.stderr


def test_explain_selects_a_service_and_suggests_names(repo: Path) -> None:
    service = invoke("explain", "payment-service", cwd=repo)
    assert service.returncode == 0, service.stderr
    assert service.stdout.startswith("payment-service/payment-failure-rate: ")
    typo = invoke("explain", "gateway-service/availabilty", cwd=repo)
    assert typo.returncode == 2
    assert "did you mean 'gateway-service/availability'" in typo.stderr
    assert "Known: auth-service, auth-service/login-availability" in typo.stderr


def test_explain_json_names_the_tier_kind_as_the_alerts_do(repo: Path) -> None:
    doc = json.loads(invoke("explain", "gateway-service", "--format", "json", cwd=repo).stdout)
    tier = doc["slos"][0]["tiers"][0]
    assert tier["slo_tier"] == "page" and "severity" not in tier
    shares = [b["budget_spent_when_firing"] for b in tier["burns"] if b["fires_seconds"]]
    assert shares and all(len(repr(s).split(".")[1]) <= 6 for s in shares), shares


def test_version_quiet_and_verbose(repo: Path) -> None:
    for flag in ("-V", "--version"):
        assert invoke(flag, cwd=repo).stdout.startswith("slo-compiler, version ")
    quiet = invoke("compile", "-q", cwd=repo)
    assert quiet.returncode == 0 and quiet.stdout == ""
    (repo / "slos/auth-service.yaml").unlink()
    verbose = invoke("compile", "-v", cwd=repo)
    assert "- prometheus/auth-service.login-availability.rules.yaml" in verbose.stdout.splitlines()
    assert "~ k8s/kind/configmaps/slo-prometheus-rules.yaml" in verbose.stdout.splitlines()
    assert not ANSI.search(verbose.stdout + verbose.stderr), "no colour, terminal or not"


def test_schema_says_unchanged(tmp_path: Path) -> None:
    first = invoke("schema", "--out", "s", cwd=tmp_path)
    assert first.stdout.splitlines() == ["wrote s/slo.schema.json", "wrote s/config.schema.json"]
    again = invoke("schema", "--out", "s", cwd=tmp_path)
    assert again.stdout.splitlines() == [
        "unchanged s/slo.schema.json",
        "unchanged s/config.schema.json",
    ]


def test_help_texts_speak_to_users(tmp_path: Path) -> None:
    for command in ("", "compile", "check", "validate", "explain", "schema"):
        text = invoke(*([command] if command else []), "--help", cwd=tmp_path).stdout
        assert ".py" not in text and "later" not in text, (command, text)
    schema_help = invoke("schema", "--help", cwd=tmp_path).stdout
    modeline = "# yaml-language-server: $schema=../schemas/slo.schema.json"
    assert modeline in [line.strip() for line in schema_help.splitlines()], "one line"


def test_messages_name_what_was_written() -> None:
    head = "apiVersion: slo-compiler/v1\nservice: svc\nslos:\n  - name: a\n    objective: 99\n"
    (rate,) = errors_of(head + "    sli: {ratio: {errors: 'rate(x[5m])', total: x}}\n")
    assert "got a function call rate(...)" in rate.message
    assert "the compiler adds rate() and sum()" in rate.message
    (unit,) = errors_of(head + "    sli: {latency: {histogram: h, threshold: 500ms}}\n")
    assert "should be a number of seconds (0.5 for 500ms), got a string '500ms'" in unit.message


def test_the_component_is_opt_in(tmp_path: Path) -> None:
    """Without a kubernetes section no platform-specific output is written."""
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    (tmp_path / "slo-compiler.yaml").write_text("apiVersion: slo-compiler/v1\n")
    assert invoke("compile", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "generated/k8s").exists()
    (tmp_path / "slo-compiler.yaml").write_text("apiVersion: slo-compiler/v1\nkubernetes: {}\n")
    assert invoke("compile", cwd=tmp_path).returncode == 0
    assert (tmp_path / "generated/k8s/kind/kustomization.yaml").is_file()


def _leaves(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        return [
            leaf
            for name in command.list_commands(ctx)
            for leaf in _leaves(command.get_command(ctx, name), (*path, name))
        ]
    return [path]


def test_every_command_takes_quiet_and_verbose() -> None:
    """-q and -v, after the command's name (and before it, on the group), as the README
    says: the group gives them to every command, subcommands included."""
    commands = _leaves(main_group)
    assert ("loadtest", "thresholds") in commands and ("verify",) in commands
    for command in commands:
        for flags in (["-q"], ["-v"], ["--quiet", "--verbose"]):
            result = CliRunner().invoke(main_group, [*command, *flags, "--help"])
            assert result.exit_code == 0, (command, flags, result.output)
    assert CliRunner().invoke(main_group, ["-q", "validate", "--help"]).exit_code == 0


def test_from_inside_the_slo_folder_commands_find_it_and_write_beside_it(tmp_path: Path) -> None:
    """Issue 27: run in slos/, `compile` used to find the config above but not the SLO
    folder (Y006). Now the defaults resolve as git's do, from any folder of the repo."""
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    shutil.copy(ROOT / "slo-compiler.yaml", tmp_path)
    (tmp_path / ".git").mkdir()
    inside = tmp_path / "slos"
    result = invoke("compile", cwd=inside)
    assert result.returncode == 0, result.stderr
    assert "note: using the SLO folder ." in result.stderr
    assert (tmp_path / "generated/.slo-compiler-manifest").is_file()
    # -q: errors and warnings only, the note too is silenced (issue 36).
    quiet = invoke("compile", "-q", cwd=inside)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert not (inside / "generated").exists()
    source = inside / "payment-service.yaml"
    source.write_text(source.read_text().replace("objective: 99.5", "objective: 99.6"))
    stale = invoke("check", cwd=inside)
    assert stale.returncode == 1
    assert "../generated/ is out of date: run `slo-compiler compile` and commit" in stale.stderr


def test_from_inside_the_slo_folder_nothing_crashes_or_nests(tmp_path: Path) -> None:
    """Issue 38: from slos/, `report` and `loadtest thresholds` crashed (a default --out
    of None joined to a path), `import` wrote slos/slos/ (which every later command then
    took as the SLO folder) and `schema` slos/schemas/."""
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    shutil.copy(ROOT / "slo-compiler.yaml", tmp_path)
    (tmp_path / ".git").mkdir()
    inside = tmp_path / "slos"
    report = invoke("report", "--prometheus", "http://127.0.0.1:1", "--last", "1d", cwd=inside)
    assert report.returncode == 4 and "Traceback" not in report.stderr, report.stderr
    assert "cannot connect (nothing listens there): is Prometheus running" in report.stderr
    k6 = invoke("loadtest", "thresholds", "--tool", "k6", cwd=inside)
    assert k6.returncode == 0, k6.stderr
    assert "// Regenerate with `slo-compiler loadtest thresholds --tool k6`." in k6.stdout
    schema = invoke("schema", cwd=inside)
    assert schema.stdout.splitlines()[0] == "wrote ../schemas/slo.schema.json"
    assert not (inside / "schemas").exists()
    sloth = tmp_path / "sloth.yaml"
    sloth.write_text(sloth_spec("cart-service"))
    imported = invoke("import", "sloth", str(sloth), cwd=inside)
    assert imported.returncode == 0, imported.stderr
    assert (inside / "cart-service.yaml").is_file() and not (inside / "slos").exists()


def test_a_prometheus_url_without_scheme_is_a_usage_error_that_says_the_fix(
    repo: Path,
) -> None:
    done = invoke("status", "--prometheus", "127.0.0.1:9090", cwd=repo)
    assert done.returncode == 2
    assert "(did you mean 'http://127.0.0.1:9090'?)" in done.stderr


def _completions(words: str, cwd: Path) -> list[str]:
    """What bash completion offers for the last of `words` (click's bash protocol)."""
    result = cli(
        *[],
        cwd=cwd,
        env={
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
            "_SLO_COMPILER_COMPLETE": "bash_complete",
        },
    )
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_shell_completion_of_commands_options_and_slo_names(repo: Path) -> None:
    assert _completions("slo-compiler ex", repo) == ["explain"]
    assert "--target" in _completions("slo-compiler compile --ta", repo)
    assert _completions("slo-compiler explain pay", repo) == [
        "payment-failure-rate",
        "payment-service",
        "payment-service/payment-failure-rate",
    ]
    assert "queue-service" in _completions("slo-compiler status ", repo)
    # Issue 38: the name on the page completes too, as explain and status take it.
    assert _completions("slo-compiler explain PaymentF", repo) == ["PaymentFailureBudgetBurn"]


def test_out_and_force_are_one_declaration_everywhere() -> None:
    """Issue 36: --out was declared 6 times and --force 3, each its own way (TEXT or FILE,
    "Replace ..." or not). Every command that writes takes them from cli.common: --out
    names the shape it takes, --force says what it replaces, and the commands that write
    beside a file of ours (reports, load-tool files) refuse a file of the user's first."""
    outs, forces = {}, {}
    for path in _leaves(main_group):
        command = main_group
        for name in path:
            command = command.get_command(click.Context(command), name)  # type: ignore[union-attr,assignment]
        params = {p.name: p for p in command.params}
        if "out" in params:
            outs[path] = params["out"].make_metavar(click.Context(command))
        if "force" in params:
            forces[path] = params["force"].help or ""
    assert set(outs) >= {("compile",), ("import",), ("report",), ("loadtest", "thresholds")}
    assert set(outs.values()) <= {"FOLDER", "FILE", "PATH"}, outs
    assert set(forces) == {("import",), ("report",), ("loadtest", "thresholds"), ("init",)}
    assert all(h.startswith("Replace ") for h in forces.values()), forces


def test_verbose_says_on_each_command_what_it_adds() -> None:
    """Issue 36: -v's help said "(compile, check: ...)" on every command and did nothing on
    most. Each command's help now says what -v does there."""
    from slo_compiler.cli import COMMANDS

    for name, (_, _, _, adds) in COMMANDS.items():
        path = [name, "run"] if name == "loadtest" else [name]  # the group's gate
        shown = " ".join(CliRunner().invoke(main_group, [*path, "--help"]).output.split())
        assert " ".join(adds.split()) in shown, (name, shown)
    thresholds = CliRunner().invoke(main_group, ["loadtest", "thresholds", "--help"]).output
    assert "Nothing more to say" in " ".join(thresholds.split())


def test_verbose_on_a_live_command_counts_the_queries(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    shutil.copy(ROOT / "slos/payment-service.yaml", tmp_path / "slos")
    url = "http://127.0.0.1:1"
    result = invoke("status", "-v", "--prometheus", url, "--timeout", "2s", cwd=tmp_path)
    assert result.returncode == 4, result.stderr  # nothing answered: no count to give
    assert "queries answered by" not in result.stderr
