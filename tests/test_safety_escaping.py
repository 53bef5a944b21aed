"""Issue 10, parts 2 and 3: text that Grafana, Prometheus, YAML or Kubernetes would expand
or refuse is escaped at the one place it is written, or refused with a positioned error.

The hostile SLO below carries Grafana secret references, Go template actions (one that
queries Prometheus, one that does not parse), quotes and a newline in every place user
text can reach. Each test failed on the code before the escapers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, cli, compile_texts, errors_of, read_tree, rules_of, run, source

from slo_compiler.base import templates
from slo_compiler.compiler import Result, compile_sources
from slo_compiler.diagnostics import CompileError, Diagnostic
from slo_compiler.targets.grafana_alerting import expanded

SECRET = "${GF_SECURITY_ADMIN_PASSWORD}"
FILE = "$__file{/etc/passwd}"
QUERY = '{{ with query "up" }}{{ . }}{{ end }}'
HOSTILE_SLO = f"""\
apiVersion: slo-compiler/v1
service: hostile
labels:
  team: "{SECRET}"
  owner: '{FILE} {QUERY}'
slos:
  - name: avail
    description: "Quotes \\" and {{{{ oops and $HOME and\\nnewline"
    objective: 99
    period: 7d
    labels:
      note: "{{{{ oops $HOME"
    alerting:
      page:
        labels:
          route: "$$ {{{{ x"
    sli:
      ratio:
        errors: http_requests_total{{code=~"5..", path="/a\\"b{{{{c}}}}$d"}}
        total: http_requests_total{{path="/a\\"b{{{{c}}}}$d"}}
"""
HOSTILE_LABELS = {
    "team": SECRET,
    "owner": f"{FILE} {QUERY}",
    "note": "{{ oops $HOME",
    "route": "$$ {{ x",
}
HOSTILE_CONFIG = """\
apiVersion: slo-compiler/v1
alert_engine: both
grafana:
  folder: "SLOs $HOME {{ x"
receivers:
  - name: chat
    type: slack
    settings:
      url: $__env{SLACK_URL}
      recipient: "#alerts $PATH"
      title: '{{ template "x" . }} ${USER}'
routing:
  default_receiver: chat
teams:
  "pay$ments":
    receiver: chat
"""


def _grafana_reads(text: str) -> str:
    """What Grafana's provisioning makes of a value it expands: `$$` is a literal `$`, any
    other `$` starts a variable. The written value must hold no variable at all."""
    parts = text.split("$$")
    assert all("$" not in part for part in parts), f"Grafana would expand {text!r}"
    return "$".join(parts)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("hostile")
    (work / "slos").mkdir()
    (work / "slos/hostile.yaml").write_text(HOSTILE_SLO)
    (work / "slo-compiler.yaml").write_text(HOSTILE_CONFIG)
    result = cli("compile", cwd=work)
    assert result.returncode == 0, result.stderr
    return work / "generated"


def test_escaper_go_template_literal() -> None:
    for text in ["{{ oops", QUERY, "a{{{b}}}", "}} {{", "$labels {{$value}}", "\n{{\n"]:
        written = templates.literal(text)
        assert templates.unsupported(written) is None
        assert templates.render(written, {}, 0.0) == text


def test_escaper_grafana_expanded() -> None:
    for text in [SECRET, FILE, "$$", "a$b$", "$__env{X}", "no dollar"]:
        assert _grafana_reads(expanded(text)) == text


def test_grafana_labels_folders_and_titles_expand_no_variable(hostile: Path) -> None:
    doc = yaml.safe_load((hostile / "grafana/alerting/hostile.rules.yaml").read_text())
    for group in doc["groups"]:
        assert _grafana_reads(group["folder"]) == "SLOs $HOME {{ x: hostile"
        _grafana_reads(group["name"])
        for rule in group["rules"]:
            _grafana_reads(rule["title"])
            labels = {k: _grafana_reads(v) for k, v in rule["labels"].items()}
            # ...and Grafana's template engine then renders the user's text literally.
            for name, value in HOSTILE_LABELS.items():
                if name in labels:
                    assert templates.render(labels[name], {}, 0.0) == value


def test_grafana_annotations_are_written_raw(hostile: Path) -> None:
    """Grafana reads annotations without expansion: `$` stays single there, and the
    description's template actions are escaped for the template engine."""
    doc = yaml.safe_load((hostile / "grafana/alerting/hostile.rules.yaml").read_text())
    description = doc["groups"][0]["rules"][0]["annotations"]["description"]
    assert description.startswith('Quotes " and {{ "{{" }} oops and $HOME and\nnewline.')


def test_contact_points_keep_only_the_configured_secret_references(hostile: Path) -> None:
    doc = yaml.safe_load((hostile / "grafana/alerting/contact-points.yaml").read_text())
    settings = doc["contactPoints"][0]["receivers"][0]["settings"]
    assert settings["url"] == "$__env{SLACK_URL}"
    assert _grafana_reads(settings["recipient"]) == "#alerts $PATH"
    assert _grafana_reads(settings["title"]) == '{{ template "x" . }} ${USER}'


def test_policies_expand_no_variable(hostile: Path) -> None:
    doc = yaml.safe_load((hostile / "grafana/alerting/policies.yaml").read_text())
    route = doc["policies"][0]["routes"][0]
    assert [_grafana_reads(v) for v in route["object_matchers"][0]] == ["team", "=", "pay$ments"]


def test_prometheus_loads_and_renders_the_hostile_rules(hostile: Path, promtool: str) -> None:
    """`{{ oops` used to make promtool refuse the whole file; `{{ with query }}` ran a
    query. Now the file loads, and the generated tests (which expect the labels and the
    description exactly as the user wrote them) pass."""
    rules = hostile / "prometheus/hostile.avail.rules.yaml"
    checked = run(promtool, "check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = hostile / "prometheus/tests"
    tested = run(promtool, "test", "rules", "hostile.avail.test.yaml", cwd=tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    test = yaml.safe_load((hostile / "prometheus/tests/hostile.avail.test.yaml").read_text())
    alerts = [
        a
        for t in test["tests"]
        for case in t.get("alert_rule_test", [])
        for a in case["exp_alerts"]
    ]
    assert any(a["exp_labels"].get("owner") == f"{FILE} {QUERY}" for a in alerts)
    assert any(a["exp_labels"].get("route") == "$$ {{ x" for a in alerts)


def test_file_names_that_cannot_be_configmap_keys_are_refused() -> None:
    text = (Path(__file__).parent.parent / "slos/auth-service.yaml").read_text()
    for name in ["x\nnamePrefix: evil.yaml", "my service.yaml", "caf\u00e9.yaml"]:
        with pytest.raises(Exception) as info:
            compile_sources([source(text, name)])
        (diagnostic,) = info.value.diagnostics  # type: ignore[attr-defined]
        assert diagnostic.code == "N002" and "ConfigMap key" in diagnostic.message
        assert "\n" not in str(diagnostic)
    long = "a" * 146 + ".yaml"
    with pytest.raises(Exception) as info:
        compile_sources([source(text, long)])
    assert "at most 150" in str(info.value.diagnostics[0])  # type: ignore[attr-defined]
    # The longest name allowed, with the longest SLO name: every output fits a file
    # system's 255 bytes and a ConfigMap key's 253 characters.
    longest = "a" * 145
    slo = "b" * 63
    result = compile_sources(
        [source(text.replace("name: login-availability", f"name: {slo}"), longest + ".yaml")]
    )
    assert all(len(p.rsplit("/", 1)[-1]) <= 253 for p in result.files), max(result.files, key=len)


def test_files_of_one_name_in_two_folders_are_refused() -> None:
    slos = Path(__file__).parent.parent / "slos"
    a = source((slos / "auth-service.yaml").read_text(), "a/x.yaml")
    b = source((slos / "queue-service.yaml").read_text(), "b/x.yaml")
    c = source((slos / "gateway-service.yaml").read_text(), "X.yaml")
    with pytest.raises(Exception) as info:
        compile_sources([a, b, c])
    messages = [str(d) for d in info.value.diagnostics]  # type: ignore[attr-defined]
    assert messages == [
        "slos/a/x.yaml:1:1: error[N002]: compiles to the same ConfigMap keys as slos/X.yaml "
        "(file names must differ in more than case and folder); rename one of them",
        "slos/b/x.yaml:1:1: error[N002]: compiles to the same ConfigMap keys as slos/X.yaml "
        "(file names must differ in more than case and folder); rename one of them",
    ]


def test_two_files_of_one_service_are_refused() -> None:
    one = "apiVersion: slo-compiler/v1\nservice: svc\nslos:\n  - name: {}\n    objective: 99\n"
    sli = '    sli:\n      ratio:\n        errors: x_total{{code="5"}}\n        total: x_total\n'
    (problem,) = errors_of(one.format("a") + sli.format(), one.format("b") + sli.format())
    assert str(problem).startswith(
        "slos/file1.yaml:2:10: error[N002]: service 'svc' already has its SLO file, slos/file0.yaml"
    )


DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def test_prometheus_operator_names_are_dns_1123_and_unique() -> None:
    text = (Path(__file__).parent.parent / "slos/auth-service.yaml").read_text()
    names = []
    for i, name in enumerate(["A.yaml", "a_b.yaml", "a-b.yaml", "x..yaml", "Z-.yaml"]):
        service_text = text.replace("service: auth-service", f"service: svc{i}")
        result = compile_sources([source(service_text, name)], None, ("prometheus-operator",))
        (doc,) = [
            yaml.safe_load(data)
            for path, data in result.files.items()
            if path.startswith("k8s/prometheus-operator/")
        ]
        names.append(doc["metadata"]["name"])
    assert all(DNS_1123.match(n) for n in names), names
    assert len(set(names)) == len(names)


def test_long_alert_names_are_refused_before_grafana_does() -> None:
    name = "A" * 151
    text = f"""\
        apiVersion: slo-compiler/v1
        service: svc
        slos:
          - name: a
            objective: 99
            alerting: {{name: {name}}}
            sli: {{ratio: {{errors: 'x_total{{code="5"}}', total: x_total}}}}
        """
    (problem,) = errors_of(text)
    assert problem.code == "S004" and (problem.line, problem.col) == (6, 22)
    assert compile_texts(text.replace(name, "A" * 150)).stats.slos == 1


def test_the_yaml_writer_equals_pyyaml_on_every_file_we_write(hostile: Path) -> None:
    """render.yaml_text writes block YAML without PyYAML's representer, leaving each
    distinct scalar to PyYAML: on every YAML file of the hostile tree, the examples and
    the import corpus, it must be PyYAML's bytes (and so read back as the same data), and
    on strings built to stress the scalar styles."""
    from slo_compiler.emit.text import pyyaml_text, yaml_text

    trees = [read_tree(hostile), read_tree(ROOT / "generated")]
    trees.append({p.name: p.read_bytes() for p in (ROOT / "tests/import/expected").rglob("*.yaml")})
    checked = 0
    for tree in trees:
        for name, data in tree.items():
            if not name.endswith(".yaml") or name.endswith(".slo-compiler-manifest"):
                continue
            for doc in yaml.safe_load_all(data):
                assert yaml_text(doc) == pyyaml_text(doc), name
                checked += 1
    assert checked > 50
    tricky = ["", " x", "x ", "a: b", "#c", "- d", "'e'", '"f"', "{{ g }}", "$h", "on", "yes",
              "1e3", "0x1F", "~", "null", "x\ny", "x\n", "x\n\n", " x\ny", "\tx", "\u2028", "é",
              "a" * 200, "key:\n  value"]  # fmt: skip
    for value in tricky:
        for doc in ({"k": value, value or "e": [value, {"n": value}]}, [value, [value]]):
            assert yaml_text(doc) == pyyaml_text(doc), repr(value)
            assert yaml.safe_load(yaml_text(doc)) == doc


def test_the_json_writer_equals_the_standard_librarys(hostile: Path) -> None:
    """render.json_text is json.dumps(indent=2, sort_keys=True, ensure_ascii=False), faster:
    on every JSON file of the hostile tree, the examples and the schemas, and on values
    built to stress it; what JSON cannot hold (NaN, a tuple) is refused, not written."""
    import json

    from slo_compiler.emit.text import json_text

    def reference(value: object) -> str:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)

    trees = [read_tree(hostile), read_tree(ROOT / "generated"), read_tree(ROOT / "schemas")]
    docs = [json.loads(data) for tree in trees for n, data in tree.items() if n.endswith(".json")]
    assert len(docs) > 10
    docs.append(
        {"b": ["", "\"", "\\", "\n\t\x00\x1f\x7f", "é\u2028😀", "{{ $x }}", "</script>"],
         "a": {"": {}, "x": [], "y": [[], {}, None, True, False, 0, -1, 10**20, 0.1, -0.0, 1e300],
               "é": 1.5, "1": "sorted as text"}}
    )  # fmt: skip
    for doc in docs:
        assert json_text(doc) == reference(doc)
    for bad in (float("nan"), float("inf"), (1, 2), {1, 2}):
        with pytest.raises(TypeError):
            json_text({"x": bad})


def test_the_yaml_writers_own_scalar_styles_are_pyyamls() -> None:
    """The ASCII strings render._simple styles itself (plain, single-quoted, a literal
    block), against PyYAML on random strings of the characters and words its rules are
    about."""
    import random

    from slo_compiler.emit.text import _simple, pyyaml_text

    rng = random.Random(13)
    pieces = [*"ab: #-?.'\"{}[],&*!|>%@`~=+/_019eEnNtTyYoOfFlLxX", "---", "...", "true",
              "null", "0x", "1e3", ".inf", "<<", "=", "1h5m", "Off", "\n", "\n", " \n",
              "\n "]  # fmt: skip
    styled = multiline = 0
    for _ in range(40_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        simple = _simple(value)
        if simple is not None:
            styled += 1
            multiline += "\n" in value
            head, rest = simple
            lines = "".join(f"\n{line}" for line in rest)
            assert pyyaml_text({"k": value}) == f"k: {head}{lines}\n", repr(value)
            assert pyyaml_text([value]) == f"- {head}{lines}\n", repr(value)
    assert styled > 20_000 and multiline > 3_000


SIMPLE_SLO = """\
apiVersion: slo-compiler/v1
service: s
slos:
  - name: a
    objective: 99.9
    description: DESCRIPTION
    alerting:
      runbook_url: RUNBOOK
      page:
        annotations:
          note: NOTE
    sli:
      ratio:
        errors: x_total{code="5"}
        total: x_total
"""


@pytest.mark.parametrize(
    "braced",
    [
        "${GF_SECURITY_ADMIN_PASSWORD}",
        "$__file{/etc/shadow}",
        "$__env{HOME}",
        "$${X}",
        "$__vault{a:b}",
    ],
)
def test_annotation_text_some_grafana_would_expand_is_refused(braced: str) -> None:
    """Issue 23 item 5: Grafana 10.2 to today reads annotations raw; a proposed change
    expands braced references there. No escape is literal in both, so it is refused,
    positioned, in every field that becomes an annotation."""
    text = (
        SIMPLE_SLO.replace("DESCRIPTION", f"'d {braced}'")
        .replace("RUNBOOK", f"'https://x/{braced}'")
        .replace("NOTE", f"'n {braced}'")
    )
    found = {(d.line, d.code.value) for d in errors_of(text)}
    assert found == {(6, "S004"), (8, "S004"), (11, "S004")}


def test_a_bare_dollar_in_annotations_is_literal_everywhere() -> None:
    """A `$` without braces compiles and reaches the alerts as written, in the Prometheus
    rules and in Grafana's (neither expands it in annotations)."""
    text = SIMPLE_SLO.replace("DESCRIPTION", "'costs $5'").replace("RUNBOOK", "https://x/$a")
    text = text.replace("NOTE", "'$labels $$'")
    prometheus = yaml.safe_load(rules_of(compile_texts(text), "file0"))
    annotations = [
        r["annotations"] for g in prometheus["groups"] for r in g["rules"] if "alert" in r
    ]
    assert annotations and all(a["runbook_url"] == "https://x/$a" for a in annotations)
    assert any(a.get("note") == "$labels $$" for a in annotations), annotations
    receiver = "  - name: chat\n    type: discord\n    settings:\n      url: $__env{DISCORD}\n"
    grafana = compile_sources([source(text, "s.yaml")], source(_config(receiver), "c.yaml"))
    [rules] = [d for path, d in grafana.files.items() if path.startswith("grafana/alerting/s.")]
    assert b"https://x/$a" in rules and b"$labels $$" in rules, rules[:2000]


def _config(receiver: str, url: str = "https://grafana.example") -> str:
    return (
        "apiVersion: slo-compiler/v1\nalert_engine: grafana\n"
        f"grafana:\n  url: '{url}'\nreceivers:\n{receiver}"
        "routing:\n  default_receiver: chat\n"
    )


def _with_config(config: str) -> Result | list[Diagnostic]:
    plain = SIMPLE_SLO.replace("DESCRIPTION", "d").replace("RUNBOOK", "https://x")
    try:
        return compile_sources(
            [source(plain.replace("NOTE", "n"), "s.yaml")], source(config, "slo-compiler.yaml")
        )
    except CompileError as err:
        return err.diagnostics


def test_references_only_in_credential_settings() -> None:
    """`$__file{}` in a Slack username would put a file's text into every notification:
    refused, unless the config declares the setting secret."""
    receiver = (
        "  - name: chat\n    type: slack\n    settings:\n      url: $__env{SLACK_URL}\n"
        "      username: $__file{/etc/shadow}\n"
    )
    problems = _with_config(_config(receiver))
    assert [(d.line, d.code.value) for d in problems] == [(10, "S004")]
    assert "'username' is not a credential setting" in problems[0].message
    declared = _with_config(_config(receiver + "    secret: [username]\n"))
    assert isinstance(declared, Result)
    doc = yaml.safe_load(declared.files["grafana/alerting/contact-points.yaml"])
    settings = doc["contactPoints"][0]["receivers"][0]["settings"]
    assert settings == {"url": "$__env{SLACK_URL}", "username": "$__file{/etc/shadow}"}


def test_a_braced_grafana_url_is_refused() -> None:
    receiver = "  - name: chat\n    type: slack\n    settings:\n      url: $__env{SLACK_URL}\n"
    problems = _with_config(_config(receiver, url="https://${GRAFANA_HOST}"))
    assert [(d.line, d.code.value) for d in problems] == [(4, "S004")]
