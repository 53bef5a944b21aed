"""What the gate does with answers it cannot believe: a small server in the test stands in
for a broken Prometheus (or a proxy in front of one) and answers every query with one
malformed shape. Each must end `verify` (and `backtest`) with exit 4 and one line naming
the query, within the deadline, never a traceback and never exit 1 (a violated SLO).
Credentials in the URL are never printed, and headers never follow a redirect."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import slo_repo

from slo_compiler.cli import cli

SLO = """\
apiVersion: slo-compiler/v1
service: shop
slos:
  - name: checkout
    objective: 99
    sli:
      ratio:
        errors: req_total{code="500"}
        total: req_total
"""

Answer = Callable[[BaseHTTPRequestHandler, str], None]


def _vector(value: str = "1") -> dict:
    return {"resultType": "vector", "result": [{"metric": {}, "value": [1, value]}]}


def _matrix(value: str = "1") -> dict:
    return {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, value]]}]}


def _json(handler: BaseHTTPRequestHandler, body: object, status: int = 200) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _shape(instant: object, ranged: object, names: object = None) -> Answer:
    """Every instant query answered `instant`, every range query `ranged` (whole bodies),
    and so is an instant query of a range selector (`up[10m]`: a matrix, in Prometheus);
    label-value look-ups (which metrics are known) `names`, if given, else `instant`."""

    def answer(handler: BaseHTTPRequestHandler, path: str) -> None:
        if names is not None and path.endswith("/values"):
            _json(handler, names)
        else:
            matrix = path.endswith("query_range") or handler.query.endswith("]")
            _json(handler, ranged if matrix else instant)

    return answer


def _ok(data: object) -> dict:
    return {"status": "success", "data": data}


MALFORMED: dict[str, Answer] = {
    "no data": _shape({"status": "success"}, {"status": "success"}),
    "a list": _shape([], []),
    "null": _shape(None, None),
    "result null": _shape(_ok({"resultType": "vector", "result": None}), _ok(_matrix())),
    "a value that is no number": _shape(_ok(_vector("abc")), _ok(_matrix())),
    "a series without labels": _shape(
        _ok({"resultType": "vector", "result": [{"value": [1, "1"]}]}), _ok(_matrix())
    ),
    "a vector answering a range query": _shape(_ok(_vector()), _ok(_vector())),
    "+Inf samples": _shape(_ok(_vector("+Inf")), _ok(_matrix("+Inf"))),
    "NaN samples": _shape(_ok(_vector("NaN")), _ok(_matrix("NaN"))),
    "HTML from a proxy": lambda h, _: (
        h.send_response(502),
        h.send_header("Content-Length", "13"),
        h.end_headers(),
        h.wfile.write(b"<h1>bad</h1>\n"),
    ),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    answer: Answer
    seen: list[dict[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _any(self) -> None:
        self.server.seen.append(dict(self.headers))
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.query = form.get("query", [""])[0]
        with suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, rightly
            self.server.answer(self, self.path.split("?")[0])

    do_GET = do_POST = _any


@pytest.fixture
def fake() -> Iterator[Callable[[Answer], tuple[str, list[dict[str, str]]]]]:
    """Start fake Prometheus servers on 127.0.0.1: (URL, headers of each request seen)."""
    servers: list[_Server] = []

    def start(answer: Answer) -> tuple[str, list[dict[str, str]]]:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.answer, server.seen = answer, []
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return slo_repo(tmp_path_factory.mktemp("shop"), shop=SLO)


def _run(shop: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The command line in this process (the answers, not the start-up, are under test)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(shop)
        result = CliRunner().invoke(cli, list(args), env=env)
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception  # a traceback: the defect under test
    return result.exit_code, result.stdout, result.stderr


def _verify(
    shop: Path, url: str, *args: str, command: str = "verify", env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    settle = ("--settle", "0s") if command == "verify" else ()
    return _run(shop, command, "--prometheus", url, "--from", "now-20m", *settle, *args, env=env)


# backtest reads answers through the same client: a few shapes show it.
CASES = [("verify", shape) for shape in sorted(MALFORMED)] + [
    ("backtest", shape) for shape in ("NaN samples", "a vector answering a range query", "null")
]


@pytest.mark.parametrize(("command", "shape"), CASES)
def test_a_malformed_answer_is_exit_4_naming_the_query(
    fake: Callable, shop: Path, command: str, shape: str
) -> None:
    url, _ = fake(MALFORMED[shape])
    code, out, err = _verify(shop, url, "--timeout", "20s", command=command)
    assert code == 4, (shape, code, out, err)
    assert "Traceback" not in err and out == "", (shape, out, err)
    [line] = err.splitlines()
    assert line.startswith(f"slo-compiler {command}: query `") or "HTTP 502" in line, line


def _trickle(handler: BaseHTTPRequestHandler, _path: str) -> None:
    """A body sent a byte every second: no read ever times out, the answer never ends."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(100):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(1)


def _flood(handler: BaseHTTPRequestHandler, _path: str) -> None:
    """An answer of 300 MB, never all of it needed."""
    handler.send_response(200)
    handler.end_headers()
    block = b" " * (1 << 20)
    for _ in range(300):
        handler.wfile.write(block)


def test_the_deadline_ends_a_trickling_answer(fake: Callable, shop: Path) -> None:
    url, _ = fake(_trickle)
    began = time.monotonic()
    code, _, err = _verify(shop, url, "--timeout", "3s")
    assert code == 4 and "no answer within --timeout 3s" in err, err
    assert time.monotonic() - began < 6  # the deadline, not the server's hundred seconds


def test_an_answer_over_the_size_cap_is_refused(fake: Callable, shop: Path) -> None:
    url, _ = fake(_flood)
    code, _, err = _verify(shop, url)
    assert code == 4 and "an answer over 64 MiB, refused" in err, err
    assert "Traceback" not in err


def test_credentials_are_never_printed_nor_forwarded(fake: Callable, shop: Path) -> None:
    """A password in the URL is sent but printed nowhere (report header, errors); a
    redirect to another port is not followed with the headers."""
    other_url, other_seen = fake(_shape(_ok(_vector()), _ok(_matrix())))

    def redirect(handler: BaseHTTPRequestHandler, path: str) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"{other_url}{path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url, seen = fake(redirect)
    secret_url = url.replace("http://", "http://alice:S3CRET-PW@")
    code, out, err = _verify(
        shop, secret_url, "--header", "X-Scope-OrgID=$TENANT", env={"TENANT": "tenant-secret"}
    )
    assert code == 4, out + err
    assert "S3CRET-PW" not in out + err and "tenant-secret" not in out + err
    assert "***@127.0.0.1" in err and "not followed" in err
    assert seen and seen[0].get("X-Scope-OrgID") == "tenant-secret"  # sent where asked
    assert other_seen == []  # and nowhere else
    # The same in a report: a server that answers, with a password in its URL.
    answers = fake(_shape(_ok(_vector("0")), _ok(_matrix()), _ok(["req_total"])))[0]
    secret_url = answers.replace("http://", "http://alice:S3CRET-PW@")
    code, out, err = _verify(shop, secret_url, "--format", "json")
    assert "S3CRET-PW" not in out + err, out
    assert json.loads(out)["prometheus"].startswith("http://***@127.0.0.1:")
