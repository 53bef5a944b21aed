"""`slo-compiler loadtest thresholds`: k6 thresholds checked against k6's documented grammar
(k6 itself cannot be installed here), the Locust module with hostile request names, the
default mapping from the selectors, and the module run by Locust itself against the
platform simulator with a payment 5xx storm."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, cli, compile_texts, require_tool

from slo_compiler.loadtool import client_threshold, k6_thresholds, locust_module

sys.path.insert(0, str(ROOT / "loadtest"))
import stack

# k6's threshold expressions: `aggregation operator value`, the aggregation one the
# metric's type has (http_req_failed is a Rate, http_req_duration a Trend); sub-metric keys
# `metric{tag:value,...}` (https://grafana.com/docs/k6/latest/using-k6/thresholds/).
K6_EXPRESSION = {
    "http_req_failed": re.compile(r"^rate\s*(<|<=|>|>=|==|===|!=)\s*\d+(\.\d+)?$"),
    "http_req_duration": re.compile(
        r"^(avg|min|max|med|p\(\d+(\.\d+)?\))\s*(<|<=|>|>=|==|===|!=)\s*\d+(\.\d+)?$"
    ),
}
K6_KEY = re.compile(r"^(?P<metric>[a-z_]+)\{(?P<tags>[A-Za-z_]+:[^,{}]+(,[A-Za-z_]+:[^,{}]+)*)\}$")
K6_DURATION = re.compile(r"^(\d+(ms|s|m|h|d))+$")

TWO_SLOS_ONE_REQUEST = """
apiVersion: slo-compiler/v1
service: shop
slos:
  - name: checkout-errors
    objective: 99.5
    sli:
      ratio:
        errors: http_server_requests_seconds_count{uri="/api/checkout",method="POST",status=~"5.."}
        total: http_server_requests_seconds_count{uri="/api/checkout", method="POST"}
  - name: checkout-conflicts
    objective: 95
    sli:
      ratio:
        errors: http_server_requests_seconds_count{uri="/api/checkout", method="POST", status="409"}
        total: http_server_requests_seconds_count{uri="/api/checkout", method="POST"}
  - name: checkout-latency
    objective: 99.9
    sli:
      latency:
        histogram: checkout_duration_seconds{service="shop"}
        threshold: 0.25
    loadtest:
      requests: [checkout]
      k6_tag: slo=checkout-latency
"""


def _items(text: str) -> list:
    plans = [s for p in compile_texts(text).plans for s in p.slos]
    return [client_threshold(p) for p in plans]


def test_k6_thresholds_follow_k6s_grammar_and_never_repeat_a_key() -> None:
    thresholds, skipped = k6_thresholds(_items(TWO_SLOS_ONE_REQUEST))
    assert skipped == []
    # Two SLOs on one request: one key holding both (k6 keeps only the last of a repeat).
    assert list(thresholds) == [
        "http_req_duration{slo:checkout-latency}",
        "http_req_failed{name:/api/checkout,method:POST}",
    ]
    for key, expressions in thresholds.items():
        metric = K6_KEY.match(key)["metric"]
        for expression in expressions:
            if isinstance(expression, dict):
                assert set(expression) == {"threshold", "abortOnFail", "delayAbortEval"}
                assert expression["abortOnFail"] is True
                assert K6_DURATION.match(expression["delayAbortEval"])
                expression = expression["threshold"]
            assert K6_EXPRESSION[metric].match(expression), expression
    assert thresholds["http_req_failed{name:/api/checkout,method:POST}"] == [
        "rate<0.005",
        {"threshold": "rate<0.072", "abortOnFail": True, "delayAbortEval": "5m"},
        "rate<0.05",
        {"threshold": "rate<0.72", "abortOnFail": True, "delayAbortEval": "5m"},
    ]
    assert thresholds["http_req_duration{slo:checkout-latency}"] == [
        "p(99.9)<250",
        {"threshold": "p(98.56)<250", "abortOnFail": True, "delayAbortEval": "5m"},
    ]


def test_defaults_come_from_the_selectors() -> None:
    errors, conflicts, latency = _items(TWO_SLOS_ONE_REQUEST)
    assert (errors.requests, errors.method, errors.bad_status) == (
        ("/api/checkout",),
        "POST",
        "5..",
    )
    assert conflicts.bad_status == "409"
    assert latency.latency_ms == 250
    (grouped,) = _items(
        TWO_SLOS_ONE_REQUEST.split("  - name: checkout-conflicts")[0].replace(
            'uri="/api/checkout"', 'uri=~"/api/(cart|checkout)"'
        )
    )
    assert grouped.requests == ("/api/cart", "/api/checkout")
    (anything,) = _items(
        TWO_SLOS_ONE_REQUEST.split("  - name: checkout-conflicts")[0].replace(
            'uri="/api/checkout"', 'uri=~"/api/.*"'
        )
    )
    assert isinstance(anything, str) and "no uri matcher of literal values" in anything


def test_hostile_request_names_stay_data() -> None:
    """A name that would break out of a k6 key is left out with a reason; in the Locust
    module every name stays a string: the module compiles and holds exactly the names."""
    hostile = ['a"b', "c'd", "e\nf", "{{ g }}", "$h", "i,j{k}"]
    text = TWO_SLOS_ONE_REQUEST.replace(
        "requests: [checkout]", "requests: " + json.dumps(hostile)
    ).replace("      k6_tag: slo=checkout-latency\n", "")
    items = _items(text)
    _, skipped = k6_thresholds(items)
    assert skipped == [
        "shop/checkout-latency: 'e\\nf' cannot be a k6 tag value (no commas, braces, control "
        "characters or edge spaces): give its loadtest block a k6_tag"
    ]
    module = locust_module(items, "slos/shop.yaml")
    compile(module, "slo_thresholds.py", "exec")  # valid Python whatever the names
    data = module.split("THRESHOLDS = ", 1)[1].split("\n", 1)[0]
    assert ast.literal_eval(data)[2]["requests"] == hostile


def test_committed_locust_module_is_what_the_command_writes(tmp_path: Path) -> None:
    out = tmp_path / "slo_thresholds.py"
    result = cli(
        "loadtest",
        "thresholds",
        "--tool",
        "locust",
        "--slos",
        "loadtest/slos",
        "--out",
        str(out),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text() == (ROOT / "loadtest/slo_thresholds.py").read_text(), (
        "regenerate: slo-compiler loadtest thresholds --tool locust --slos loadtest/slos "
        "--out loadtest/slo_thresholds.py"
    )


def test_out_replaces_only_a_thresholds_file_it_wrote(tmp_path: Path) -> None:
    args = ("loadtest", "thresholds", "--slos", str(ROOT / "slos"))
    for tool, name in (("k6", "thresholds.json"), ("locust", "slo_thresholds.py")):
        out = tmp_path / name
        out.write_text("the team's own file\n")
        refused = cli(*args, "--tool", tool, "--out", str(out), cwd=tmp_path)
        assert refused.returncode == 2
        assert "is not a" in refused.stderr and "--force replaces it" in refused.stderr
        assert out.read_text() == "the team's own file\n"
        forced = cli(*args, "--tool", tool, "--out", str(out), "--force", cwd=tmp_path)
        assert forced.returncode == 0, forced.stderr
        written = out.read_text()
        again = cli(*args, "--tool", tool, "--out", str(out), cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert out.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slo_thresholds.py", "thresholds.json"]


@pytest.mark.live
def test_locust_fails_the_run_on_a_payment_storm_with_a_message(tmp_path: Path) -> None:
    """Locust itself, the platform's locustfile and its generated thresholds module, against
    the simulator with payment 5xx on: exit 1, and a log line naming the payment SLO and
    its request."""
    require_tool("prometheus")
    with stack.running(tmp_path, "payment_5xx") as running:
        result = subprocess.run(
            stack.locust(running.simulator, 6), capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    failed = [line for line in result.stderr.splitlines() if "SLO threshold failed" in line]
    assert any("payment-service/payment-failure-rate: payment " in f for f in failed), failed
