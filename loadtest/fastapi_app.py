"""A FastAPI app instrumented by prometheus-fastapi-instrumentator: a second real
instrumentation library beside the platform simulator's prometheus_client code, for the
gate's end-to-end test. Its request counter (`http_requests_total{handler, method,
status}`, statuses grouped as 2xx/5xx) has no series until the first request: the case of
an app deployed a minute before its load test.

`POST /pay` fails every `--fail-every`th request with a 500 (0: never), so a test knows
the exact count of bad events; `GET /browse` never fails.

    python loadtest/fastapi_app.py --port 8000 --fail-every 5
"""

from __future__ import annotations

import argparse
import itertools

import uvicorn
from fastapi import FastAPI, Response
from prometheus_fastapi_instrumentator import Instrumentator


def app(fail_every: int) -> FastAPI:
    shop = FastAPI()
    payments = itertools.count(1)

    @shop.post("/pay")
    def pay() -> Response:
        failed = fail_every > 0 and next(payments) % fail_every == 0
        return Response(status_code=500 if failed else 200)

    @shop.get("/browse")
    def browse() -> Response:
        return Response(status_code=200)

    Instrumentator().instrument(shop).expose(shop)
    return shop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fail-every", type=int, default=0)
    args = parser.parse_args()
    uvicorn.run(app(args.fail_every), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
