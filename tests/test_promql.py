"""Label escaping, selector parsing and the expression validator."""

from __future__ import annotations

import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_compiler.diagnostics import Code
from slo_compiler.rules.promql import (
    Matcher,
    PromQLError,
    Selector,
    parse_selector,
    quote,
    validate,
)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines", '"two\\nlines"'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\x07"'),
        ("caf\u00e9 \u2603", '"caf\u00e9 \u2603"'),
    ],
)
def test_quote(value: str, literal: str) -> None:
    assert quote(value) == literal


@settings(max_examples=300)
@given(st.text())
def test_any_label_value_round_trips_through_the_parser(value: str) -> None:
    selector = Selector("metric", (Matcher("label", "=", value),))
    parsed = promql_parser.parse(selector.render())
    assert [m.value for m in parsed.matchers.matchers] == [value]


@settings(max_examples=100)
@given(st.text())
def test_any_label_value_round_trips_through_our_selector_parser(value: str) -> None:
    selector = Selector("metric", (Matcher("label", "!=", value),))
    assert parse_selector(selector.render()) == selector


def test_selector_keeps_operators_and_order() -> None:
    text = (
        'http_server_requests_seconds_count{service="a", uri=~"/api/(x|y)", status!~"2..", b!="c"}'
    )
    assert parse_selector(text).render() == (
        'http_server_requests_seconds_count{service="a",uri=~"/api/(x|y)",status!~"2..",b!="c"}'
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("sum(x)", Code.NOT_A_SELECTOR),
        ("x[5m]", Code.NOT_A_SELECTOR),
        ('{job="a"}', Code.NOT_A_SELECTOR),
        ('{__name__="x"}', Code.NOT_A_SELECTOR),
        ('x{__name__="x"}', Code.PROMQL_SYNTAX),  # the parser refuses a name given twice
        ("x offset 5m", Code.NOT_A_SELECTOR),
        ("x @ 100", Code.NOT_A_SELECTOR),
        ('x{a="b"', Code.PROMQL_SYNTAX),
        ("{}", Code.PROMQL_SYNTAX),
    ],
)
def test_parse_selector_refuses(text: str, code: Code) -> None:
    with pytest.raises(PromQLError) as info:
        parse_selector(text)
    assert info.value.code == code


@pytest.mark.parametrize(
    "text",
    [
        "sum by (uri) (rate(x[5m]))",
        "holt_winters(x[1h], 0.5, 0.5)",
        "absent(x)",
        "1 - x / 0.005",
        "vector(0.995)",
        "max_over_time(rate(x[5m])[1h:1m])",
    ],
)
def test_validate_accepts_prometheus_2(text: str) -> None:
    assert validate(text) is not None  # the parsed expression; a refusal raises


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("double_exponential_smoothing(x[1h], 0.5, 0.5)", Code.UNKNOWN_FUNCTION),
        ("info(x)", Code.UNKNOWN_FUNCTION),
        ("limitk(2, x)", Code.UNKNOWN_FUNCTION),
        ("x[5m]", Code.PROMQL_TYPE),
        ("rate(x[5m])[1h:1m]", Code.PROMQL_TYPE),
        ('"text"', Code.PROMQL_TYPE),
        ("sum(", Code.PROMQL_SYNTAX),
        ("(" * 65 + "x" + ")" * 65, Code.PROMQL_TOO_LARGE),
        ("x + " * 5000 + "x", Code.PROMQL_TOO_LARGE),
    ],
)
def test_validate_refuses(text: str, code: Code) -> None:
    with pytest.raises(PromQLError) as info:
        validate(text)
    assert info.value.code == code


def test_depth_check_ignores_brackets_inside_strings() -> None:
    assert validate('x{a="' + "(" * 200 + '"}') is not None  # a refusal raises


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_label_value_in_an_slo_file_survives_into_rules_and_selectors(value: str) -> None:
    """A file label and a selector matcher holding any text: the rule file's labels hold
    exactly that text, and every emitted expression parses, its matcher value intact."""
    import yaml
    from conftest import VALID, compile_texts, rules_of

    doc = yaml.safe_load(VALID)
    doc["labels"]["team"] = value
    doc["slos"][0]["sli"]["ratio"]["total"] = Selector(
        "http_requests_total", (Matcher("path", "=", value),)
    ).render()
    doc["slos"][0]["sli"]["ratio"]["errors"] = Selector(
        "http_requests_total", (Matcher("path", "=", value), Matcher("code", "=~", "5.."))
    ).render()
    # libyaml's emitter, as an editor would write the file: PyYAML's own folds U+0085.
    result = compile_texts(yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True))
    rules = yaml.safe_load(rules_of(result, "file0"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                assert rule["labels"]["team"] == value
            assert promql_parser.parse(rule["expr"]) is not None
    # The fine slices' group: the rules that read the counters.
    (fine,) = [g for g in rules["groups"] if g["name"].endswith(":slices")]
    first = fine["rules"][0]["expr"]
    assert Selector("http_requests_total", (Matcher("path", "=", value),)).render() in first


@pytest.mark.parametrize("value", ["\x85", "a\u2028b", "x\u2029", "two\nlines\x85"])
def test_yaml_11_line_breaks_survive_both_emitters(value: str) -> None:
    import yaml

    from slo_compiler.emit import text as render

    for base in (yaml.SafeDumper, yaml.CSafeDumper):

        class Dumper(base):  # type: ignore[misc, valid-type]
            pass

        Dumper.add_representer(str, render._str)
        text = yaml.dump({"a": value}, Dumper=Dumper, allow_unicode=True)
        assert yaml.safe_load(text)["a"] == value, (base, text)
