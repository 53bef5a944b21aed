"""One case per diagnostic code: the code, the exact position, and a useful message.

The last test makes adding a code without a case here fail, so the catalogue in the
README and this table cannot fall behind the compiler.
"""

from __future__ import annotations

import pytest
from conftest import VALID, compile_texts, errors_of, source

from slo_compiler.compiler import compile_sources
from slo_compiler.diagnostics import Code, CompileError

DUPLICATE_ACROSS = VALID


def slo_with(sli: str = "", **fields: str) -> str:
    """A one-SLO file; keyword fields replace lines of the SLO (value '' removes one)."""
    base = {
        "name": "name: api-availability",
        "objective": "objective: 99.9",
        "period": "",
    }
    base.update({k: (f"{k}: {v}" if v else "") for k, v in fields.items()})
    sli = sli or (
        'sli:\n      ratio:\n        errors: http_requests_total{code=~"5.."}\n'
        "        total: http_requests_total"
    )
    body = "\n    ".join(line for line in [*base.values(), sli] if line)
    return f"apiVersion: slo-compiler/v1\nservice: api\nslos:\n  - {body}\n"


CASES = [
    # (code, text, line, col, words in the message)
    (Code.YAML_SYNTAX, "apiVersion: [slo-compiler/v1\n", 2, 1, "flow sequence"),
    (
        Code.DUPLICATE_KEY,
        slo_with().replace("service: api", "service: api\nservice: api"),
        3,
        1,
        "duplicate key 'service' (first defined at line 2",
    ),
    (Code.NOT_A_DOCUMENT, "# only a comment\n", 1, 1, "empty"),
    (Code.INPUT_LIMIT, "a: " + "[" * 80 + "]" * 80 + "\n", 1, 67, "nesting deeper than 64"),
    (Code.ENCODING, "service: caf\xe9\n".encode("latin-1"), 1, 13, "not UTF-8"),
    (
        Code.UNKNOWN_FIELD,
        slo_with(objectiv="99.9"),
        6,
        5,
        "unknown field 'objectiv'; did you mean 'objective'?",
    ),
    (Code.MISSING_FIELD, slo_with(objective=""), 4, 5, "missing required field 'objective'"),
    (
        Code.WRONG_TYPE,
        slo_with(objective='"99.9"'),
        5,
        16,
        "should be a number, got a string '99.9'",
    ),
    (
        Code.INVALID_VALUE,
        slo_with(objective_history="[{objective: 99, until: 2026-12-01T09:00:00}]"),
        6,
        48,
        "'2026-12-01 09:00:00' has no time zone: add Z or an offset such as +01:00",
    ),
    (
        Code.INVALID_VALUE,
        slo_with(
            objective_history="[{objective: 99, until: 2026-12-01}, "
            "{objective: 98, until: 2026-11-01}]"
        ),
        6,
        24,
        "each `until` must come after the one before it",
    ),
    (
        Code.WRONG_TYPE,
        slo_with(objective="99.9%"),
        5,
        16,
        "'99.9%': write 99.9 (a percentage, without the %)",
    ),
    (
        Code.INVALID_VALUE,
        slo_with(name="Api_Availability"),
        4,
        11,
        "invalid name 'Api_Availability'",
    ),
    (
        Code.API_VERSION,
        slo_with().replace("slo-compiler/v1", "slo-compiler/v2"),
        1,
        13,
        "apiVersion must be 'slo-compiler/v1'",
    ),
    (Code.OBJECTIVE, slo_with(objective="100"), 5, 16, "strictly between 0 and 100"),
    (Code.DURATION, slo_with(period="30days"), 6, 13, "invalid period '30days'"),
    (Code.WINDOW, slo_with(period="1d"), 6, 13, "fewer than 4 scrapes"),
    (Code.RESERVED_LABEL, slo_with(labels="{slo_owner: me}"), 6, 14, "'slo_owner' is reserved"),
    (
        Code.TIER_UNREACHABLE,
        slo_with(objective="90"),
        5,
        16,
        "tier page-fast (factor 14.4) would need more than 144%",
    ),
    (
        Code.UNPUBLISHED_BUCKET,
        slo_with(
            sli="sli:\n      latency:\n        histogram: http_server_requests_seconds\n"
            "        threshold: 0.5"
        ),
        9,
        20,
        "the nearest it publishes: 0.447392426 and 0.536870911",
    ),
    (
        Code.PROMQL_SYNTAX,
        slo_with(sli='sli:\n      ratio:\n        errors: x{a="b"\n        total: x'),
        8,
        17,
        "invalid PromQL",
    ),
    (
        Code.NOT_A_SELECTOR,
        slo_with(sli="sli:\n      ratio:\n        errors: rate(x[5m])\n        total: x"),
        8,
        17,
        "expected a plain vector selector",
    ),
    (
        Code.UNKNOWN_FUNCTION,
        slo_with(sli="sli:\n      raw:\n        error_ratio: info(rate(x[{{window}}]))"),
        8,
        22,
        "info() is not available in Prometheus 2.x",
    ),
    (
        Code.PROMQL_TOO_LARGE,
        slo_with(
            sli="sli:\n      raw:\n        error_ratio: " + "(" * 70 + "x[{{window}}]" + ")" * 70
        ),
        8,
        22,
        "deeper than 64",
    ),
    (
        Code.PROMQL_TYPE,
        slo_with(sli="sli:\n      raw:\n        error_ratio: x[{{window}}]"),
        8,
        22,
        "range vector cannot be the result",
    ),
    (
        Code.RAW_PLACEHOLDER,
        slo_with(sli="sli:\n      raw:\n        error_ratio: rate(x[5m])"),
        8,
        22,
        "{{window}}",
    ),
    (
        Code.DUPLICATE_SLO,
        slo_with() + "  - name: api-availability\n    objective: 99\n    sli:\n"
        "      ratio: {errors: x, total: y}\n",
        10,
        11,
        "already defined at line 4, column 11",
    ),
    (
        Code.LABEL_CLASH,
        slo_with(group_by="[team]", labels="{team: api}"),
        6,
        16,
        "'team' is both a grouping label and a fixed label",
    ),
    (
        Code.ALERT_NAME_CLASH,
        slo_with() + "  - name: api-latency\n    objective: 99\n    sli:\n"
        "      ratio: {errors: x, total: y}\n    alerting: {name: ApiAvailabilityBudgetBurn}\n",
        14,
        22,
        "alert name 'ApiAvailabilityBudgetBurn' is already used by an SLO of service 'api' at "
        "slos/file0.yaml:4:11",
    ),
]


@pytest.mark.parametrize(
    ("code", "text", "line", "col", "words"),
    CASES,
    ids=[f"{c[0].value}-{c[0].name}" for c in CASES],
)
def test_code(code: Code, text: str | bytes, line: int, col: int, words: str) -> None:
    diagnostics = errors_of(text)
    assert [(d.code, d.line, d.col) for d in diagnostics] == [(code, line, col)], diagnostics
    assert words in diagnostics[0].message
    assert str(diagnostics[0]).startswith(f"slos/file0.yaml:{line}:{col}: error[{code.value}]: ")


def test_read_error_and_limits() -> None:
    huge = source("a: " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(CompileError) as info:
        compile_sources([huge])
    assert [d.code for d in info.value.diagnostics] == [Code.INPUT_LIMIT]


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    diagnostics = errors_of("\n".join(lines) + "\n")
    assert [d.code for d in diagnostics] == [Code.INPUT_LIMIT]
    assert "after expanding aliases" in diagnostics[0].message


def test_output_clash_between_yaml_and_yml() -> None:
    with pytest.raises(CompileError) as info:
        compile_sources([source(VALID, "svc.yaml"), source(VALID, "svc.yml")])
    codes = [d.code for d in info.value.diagnostics]
    assert Code.OUTPUT_CLASH in codes


def test_duplicate_slo_across_files_names_the_first_definition() -> None:
    diagnostics = errors_of(VALID, DUPLICATE_ACROSS)
    # The same service in a second file is a problem of its own (N002, at `service`).
    assert [(d.path, d.code, d.line, d.col) for d in diagnostics] == [
        ("slos/file1.yaml", Code.OUTPUT_CLASH, 2, 10),
        ("slos/file1.yaml", Code.DUPLICATE_SLO, 6, 11),
    ]
    assert "already defined at slos/file0.yaml:6:11" in diagnostics[1].message


def test_tabs_get_a_hint() -> None:
    diagnostics = errors_of("apiVersion: slo-compiler/v1\nslos:\n\t- name: x\n")
    assert diagnostics[0].code == Code.YAML_SYNTAX
    assert "tabs" in diagnostics[0].message


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = """\
        apiVersion: slo-compiler/v1
        service: Payment Service
        labels: {slo_team: x}
        slos:
          - name: ok
            objective: 101
            period: 30x
            sli:
              ratio:
                errors: rate(x[5m])
                total: x
            extra: 1
        """
    diagnostics = errors_of(text)
    assert [(d.line, d.code) for d in diagnostics] == [
        (2, Code.INVALID_VALUE),
        (3, Code.RESERVED_LABEL),
        (6, Code.OBJECTIVE),
        (7, Code.DURATION),
        (12, Code.UNKNOWN_FIELD),
    ]


def test_every_code_has_a_case() -> None:
    # READ_ERROR and OUTPUT_CLASH have tests of their own above; the config file's codes
    # are pinned in test_grafana.py (literal secrets, unknown and duplicate receivers).
    covered = {c[0] for c in CASES} | {Code.READ_ERROR, Code.OUTPUT_CLASH}
    covered |= {Code.LITERAL_SECRET, Code.UNKNOWN_RECEIVER, Code.DUPLICATE_RECEIVER}
    covered |= {Code.UNROUTED}  # a warning against the config's routes, test_grafana.py
    covered |= {Code.ALERTMANAGER_UNSUPPORTED}  # test_alertmanager.py
    # The output folder's codes come from the command line: test_safety_output.py.
    covered |= {Code.OUTPUT_REFUSED, Code.OUTPUT_WRITE, Code.OUTPUT_BUSY}
    # The Kubernetes output's size: test_kubernetes_scale.py.
    covered |= {Code.OUTPUT_TOO_LARGE}
    # The importer's: its corpus in tests/import (test_import.py checks it covers them).
    covered |= {c for c in Code if c.name.startswith("IMPORT_")}
    assert covered == set(Code)


TIERED = """\
apiVersion: slo-compiler/v1
service: api
scrape_interval: 30s
slos:
  - name: api-availability
    objective: 99.5
    period: 7d
    sli:
      ratio:
        errors: http_requests_total{code=~"5.."}
        total: http_requests_total
    alerting:
      tiers:
        page-slow: {short_window: 1m}
        ticket-fast: {factor: 250}
        ticket-slow: {long_window: 8d}
"""


def test_tier_problems_point_at_the_field_at_fault() -> None:
    found = [(d.line, d.col, d.code, d.message) for d in errors_of(TIERED)]
    assert [(line, col, code) for line, col, code, _ in found] == [
        (7, 13, Code.WINDOW),  # page-fast's scaled 1m short window: under 4 scrapes of 30s
        (14, 35, Code.WINDOW),  # page-slow's short window override
        (15, 31, Code.TIER_UNREACHABLE),  # ticket-fast: no longer hidden by the others
        (16, 36, Code.WINDOW),  # ticket-slow longer than the period
    ]
    assert (
        "tier page-fast: short window 1m (1m10s for a 7d period, rounded) holds fewer than "
        "4 scrapes of 30s" in found[0][3]
    )
    assert "use a longer period" in found[0][3]
    assert "longer than the period 7d" in found[3][3]


def test_an_unreachable_overridden_factor_is_reported_at_the_factor() -> None:
    text = TIERED.replace("scrape_interval: 30s", "scrape_interval: 15s")
    text = text.replace("        page-slow: {short_window: 1m}\n", "").replace(
        "        ticket-slow: {long_window: 8d}\n", ""
    )
    [problem] = errors_of(text)
    assert (problem.line, problem.col, problem.code) == (14, 31, Code.TIER_UNREACHABLE)
    assert "tier ticket-fast (factor 250)" in problem.message


def test_an_unknown_tier_name_is_a_shape_error_at_the_key() -> None:
    [problem] = errors_of(TIERED.replace("ticket-slow: {long_window: 8d}", "page-fastt: {}"))
    assert (problem.line, problem.col, problem.code) == (16, 9, Code.INVALID_VALUE)
    assert "page-fast" in problem.message


def test_annotation_templates_the_tests_cannot_predict_are_refused() -> None:
    text = slo_with(
        alerting="\n      page:\n        annotations:\n"
        "          note: 'at {{ $value | humanize }} for {{ $labels.uri }}'\n"
        "          ok: '{{ $value | printf \"%.2f\" }} on {{ $labels.uri }}'"
    )
    [problem] = errors_of(text)
    assert (problem.line, problem.col, problem.code) == (9, 17, Code.INVALID_VALUE)
    assert "{{ $value | humanize }} is not supported" in problem.message


def test_a_threshold_the_platform_publishes_passes() -> None:
    """A Micrometer default boundary, a boundary the config lists (the service configures
    it as an SLO boundary in Spring), or a histogram whose boundaries are unknown."""
    from test_grafana import config_source

    for threshold in ("0.536870911", "30"):
        text = slo_with(
            sli="sli:\n      latency:\n        histogram: http_server_requests_seconds\n"
            f"        threshold: {threshold}"
        )
        assert compile_texts(text).stats.slos == 1
    listed = slo_with(
        sli="sli:\n      latency:\n        histogram: http_server_requests_seconds\n"
        "        threshold: 0.5"
    )
    config = (
        "apiVersion: slo-compiler/v1\nhistogram_buckets:\n  http_server_requests_seconds: [0.5]\n"
    )
    assert compile_sources([source(listed)], config_source(config)).stats.slos == 1
    unknown = listed.replace("http_server_requests_seconds", "urr_queue_wait_seconds")
    assert compile_texts(unknown).stats.slos == 1
