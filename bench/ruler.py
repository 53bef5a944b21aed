"""Rule evaluation time of the example SLOs in vmalert (against VictoriaMetrics) beside
Prometheus, same rules, same live data, same run.

    python bench/ruler.py [--seconds 60] [--interval 5s]

On 127.0.0.1, all stopped at the end: the platform simulator (loadtest/simulator.py) with
Locust-free background traffic from its own metrics; Prometheus scraping it and evaluating
the rules compiled from slos/ (alerts in the rule files, as without a config); VictoriaMetrics
single-node scraping it with the same scrape config, and vmalert evaluating the same rule
files against it. After the run: every rule group's mean evaluation time in each, from
Prometheus' rules API (polled at every evaluation) and vmalert's own summary metric
(vmalert_iteration_duration_seconds), and the ratio. Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "loadtest"))
import stack  # noqa: E402 - the load-test equipment is not part of the package
import victoria  # noqa: E402


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode()


def _prometheus_times(url: str, seconds: float, interval: float) -> dict[str, list[float]]:
    """Each group's evaluation time at every evaluation over `seconds`."""
    times: dict[str, list[float]] = {}
    seen: dict[str, str] = {}
    deadline = time.time() + seconds
    while time.time() < deadline:
        for group in json.loads(_get(f"{url}/api/v1/rules"))["data"]["groups"]:
            name, last = group["name"], group.get("lastEvaluation", "")
            if last and seen.get(name) != last and group["evaluationTime"] > 0:
                seen[name] = last
                times.setdefault(name, []).append(group["evaluationTime"])
        time.sleep(interval / 4)
    return times


_SUMMARY = re.compile(
    r'^vmalert_iteration_duration_seconds_(sum|count)\{group="([^"]+)"[^}]*\} (\S+)$', re.M
)


def _vmalert_means(url: str) -> dict[str, float]:
    sums: dict[str, dict[str, float]] = {}
    for kind, group, value in _SUMMARY.findall(_get(f"{url}/metrics")):
        sums.setdefault(group, {})[kind] = float(value)
    return {g: s["sum"] / s["count"] for g, s in sums.items() if s.get("count")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", default="5s")
    args = parser.parse_args()
    interval = float(args.interval.removesuffix("s"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # No Grafana: the alerts stay in the rule files, as most users run them.
        (work / "none.yaml").write_text("apiVersion: slo-compiler/v1\n")
        subprocess.run(
            [sys.executable, "-m", "slo_compiler", "compile", "-q", "--slos", str(ROOT / "slos"),
             "--config", str(work / "none.yaml"), "--target", "prometheus", "--out",
             str(work / "gen")],
            check=True, env=stack.ENV, cwd=work,
        )  # fmt: skip
        rules = sorted((work / "gen/prometheus").glob("*.rules.yaml"))
        sizes = {
            g["name"]: len(g["rules"])
            for r in rules
            for g in yaml.safe_load(r.read_text())["groups"]
        }
        port = stack.free_port()
        simulator = subprocess.Popen(
            [sys.executable, str(ROOT / "loadtest/simulator.py"), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        scrape = (
            "scrape_configs:\n"
            f"  - job_name: platform\n    scrape_interval: 1s\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        )
        (work / "scrape.yml").write_text(scrape)
        prometheus_yml = (
            f"global: {{evaluation_interval: {args.interval}}}\n"
            f"rule_files: {json.dumps([str(r) for r in rules])}\n{scrape}"
        )
        try:
            stack.wait_ready(f"http://127.0.0.1:{port}/metrics", work / "none.log")
            with (
                stack.prometheus(work, prometheus_yml) as prometheus,
                victoria.server(work, f"-promscrape.config={work / 'scrape.yml'}") as vm,
            ):
                vmalert_port = stack.free_port()
                command = [
                    victoria.tool("vmalert"), *(f"-rule={r}" for r in rules),
                    f"-datasource.url={vm}", f"-remoteWrite.url={vm}",
                    f"-evaluationInterval={args.interval}",
                    f"-httpListenAddr=127.0.0.1:{vmalert_port}", "-loggerLevel=FATAL",
                    # Required with alerting rules; nothing listens (no Alertmanager here).
                    f"-notifier.url=http://127.0.0.1:{stack.free_port()}",
                ]  # fmt: skip
                with stack.serve(command, vmalert_port, "/-/healthy", work / "vmalert.log") as va:
                    prom = _prometheus_times(prometheus, args.seconds, interval)
                    vmalert_means = _vmalert_means(va)
        finally:
            stack._stop(simulator)
    print(f"## vmalert beside Prometheus: the example rules, every {args.interval}\n")
    print("| rule group | rules | Prometheus (mean) | vmalert (mean) | ratio |")
    print("|---|---:|---:|---:|---:|")
    total_p = total_v = 0.0
    for group in sorted(prom):
        p = sum(prom[group]) / len(prom[group])
        v = vmalert_means.get(group)
        if v is None:
            continue
        total_p, total_v = total_p + p, total_v + v
        cells = [group, str(sizes.get(group, 0)), f"{p * 1000:.2f} ms", f"{v * 1000:.2f} ms"]
        print("| " + " | ".join([*cells, f"{v / p:.2f}x"]) + " |")
    print(f"| all | {sum(sizes.values())} | {total_p * 1000:.2f} ms | {total_v * 1000:.2f} ms | "
          f"{total_v / total_p:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
