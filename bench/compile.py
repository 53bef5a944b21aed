"""Compile benchmark: time and peak memory of compile + validate for N synthetic SLOs,
against `promtool check rules` on the rule files that compile emitted, in the same run.

    python bench/compile.py                 # 100, 1000, 5000 SLOs; prints a Markdown report
    python bench/compile.py --sizes 1000 --profile
    python bench/compile.py --sizes 1500 5000 --per-file 1    # a service per SLO (issue 25)
    python bench/compile.py --sizes 1500 --per-file 1 --config slo-compiler.yaml  # + Component

Every measurement runs the real command line in a child process (a fresh interpreter, as
CI and users run it), so peak memory is the child's maximum resident set. The synthetic
SLOs mix the shapes the compiler handles: ratio SLIs with errors or good counters, latency
SLIs, grouped SLOs, periods of 7d, 28d, 30d and 90d.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOS_PER_FILE = 10
PERIODS = ("30d", "28d", "7d", "90d")
OBJECTIVES = ("99.9", "99.5", "99", "95")


def _slo(f: int, i: int) -> list[str]:
    service = f"svc-{f}"
    base = f'http_server_requests_seconds_count{{service="{service}", uri="/api/{i}"'
    kind = i % 4
    lines = [
        f"  - name: slo-{i}",
        f"    objective: {OBJECTIVES[i % 4]}",
        f"    period: {PERIODS[(f + i) % 4]}",
        "    sli:",
    ]
    if kind == 0:
        lines += [
            "      ratio:",
            f'        errors: {base}, status=~"5.."}}',
            f"        total: {base}}}",
        ]
    elif kind == 1:
        lines += [
            "      ratio:",
            f'        good: {base}, outcome="SUCCESS"}}',
            f"        total: {base}}}",
        ]
    elif kind == 2:
        lines += [
            "      latency:",
            f'        histogram: http_server_requests_seconds{{service="{service}"}}',
            "        threshold: 0.536870911",  # a bucket Micrometer publishes
        ]
    else:
        lines += [
            "      ratio:",
            f'        errors: {base.split(",")[0]}, status=~"5.."}}',
            f'        total: http_server_requests_seconds_count{{service="{service}"}}',
            "    group_by: [uri]",
        ]
    return lines


def write_slos(folder: Path, count: int, per_file: int = SLOS_PER_FILE) -> None:
    folder.mkdir(parents=True)
    for f in range(max(1, count // per_file)):
        lines = [
            "apiVersion: slo-compiler/v1",
            f"service: svc-{f}",
            f"labels: {{team: team-{f % 7}}}",
            "slos:",
        ]
        for i in range(min(per_file, count)):
            lines += _slo(f, i)
        (folder / f"svc-{f}.yaml").write_text("\n".join(lines) + "\n")


REPEAT = 3  # every figure is the best of this many runs, ours and promtool's alike


def measure(
    args: list[str], cwd: Path, fresh: Path | None = None
) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall time (s, the best of REPEAT runs: the least disturbed by the machine) and peak
    RSS (KiB) of a child process; `fresh`: a folder removed before each run (a compile
    into an empty --out each time), its removal written to disk before the run starts."""
    best = float("inf")
    for _ in range(REPEAT):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        # Each run starts with nothing left to write back: the previous run's 50 MB
        # otherwise throttle this one's writes (the kernel's dirty-page limit).
        os.sync()
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    # The largest resident set of any child so far (this script's children only grow).
    return best, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (the compile's helper processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def tree_memory(args: list[str], cwd: Path) -> int:
    """Peak proportional set size (KiB) of a command and its helper processes together,
    sampled every 10 ms: shared pages counted once, where each process's own peak RSS
    would count them in every helper."""
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_pss_kib(pid) for pid in _tree(process.pid)))
        time.sleep(0.01)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed")
    return peak


def slo_compiler(*args: str) -> list[str]:
    return [sys.executable, "-m", "slo_compiler", *args]


def run_size(
    count: int, work: Path, per_file: int = SLOS_PER_FILE, config: Path | None = None
) -> dict[str, float]:
    write_slos(work / "slos", count, per_file)
    if config is not None:  # a config with a kubernetes section brings the Component
        shutil.copy(config, work / "slo-compiler.yaml")
    env_root = str(ROOT)
    os.environ["PYTHONPATH"] = env_root
    row: dict[str, float] = {"slos": count}
    row["rules_s"], row["rules_kib"], _ = measure(
        slo_compiler("compile", "--target", "prometheus", "--out", "rules-only"),
        work,
        work / "rules-only",
    )
    row["all_s"], row["all_kib"], _ = measure(
        slo_compiler("compile", "--out", "generated"), work, work / "generated"
    )
    shutil.rmtree(work / "generated")
    row["tree_kib"] = tree_memory(slo_compiler("compile", "--out", "generated"), work)
    row["check_s"], _, _ = measure(slo_compiler("check", "--out", "generated"), work)
    rule_files = sorted(str(p) for p in (work / "generated/prometheus").glob("*.rules.yaml"))
    row["promtool_s"], _, done = measure(["promtool", "check", "rules", *rule_files], work)
    row["rules"] = done.stdout.count("rules found") and sum(
        int(line.split()[1]) for line in done.stdout.splitlines() if "rules found" in line
    )
    return row


def profile(count: int, work: Path) -> str:
    """Where a full compile of `count` SLOs spends its time (in process, every file read
    as the writer reads it, without writing)."""
    sys.path.insert(0, str(ROOT))
    from slo_compiler.compiler import compile_sources
    from slo_compiler.source.files import discover

    write_slos(work / "slos", count)
    sources = discover(str(work / "slos"))
    profiler = cProfile.Profile()
    profiler.enable()
    files = compile_sources(sources).files
    for path in files:  # as the writer reads them: the generated tests render here
        files[path]
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [
        line
        for line in out.getvalue().splitlines()
        if line.strip() and "function calls" not in line
    ]
    return "\n".join(lines[2:16])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--profile", action="store_true", help="profile the 1000-SLO compile")
    parser.add_argument(
        "--per-file", type=int, default=SLOS_PER_FILE, help="SLOs per file (1: a service each)"
    )
    parser.add_argument(
        "--config", type=Path, help="a config for the compiles (the platform's: the Component)"
    )
    options = parser.parse_args()
    if shutil.which("promtool") is None:
        raise SystemExit("promtool is needed (Debian package prometheus)")
    print(
        "| SLOs | rules | compile + validate, rules only | peak RSS | promtool check rules "
        "| ratio | full compile (all targets) | peak RSS | with its helpers (PSS) "
        "| full / promtool | check, unchanged tree |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in options.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            config = options.config and options.config.resolve()
            r = run_size(size, Path(tmp), options.per_file, config)
        print(
            f"| {size} | {int(r['rules'])} | {r['rules_s']:.2f} s "
            f"| {r['rules_kib'] / 1024:.0f} MiB "
            f"| {r['promtool_s']:.2f} s | {r['rules_s'] / r['promtool_s']:.2f} "
            f"| {r['all_s']:.2f} s | {r['all_kib'] / 1024:.0f} MiB "
            f"| {r['tree_kib'] / 1024:.0f} MiB "
            f"| {r['all_s'] / r['promtool_s']:.2f} | {r['check_s']:.2f} s |",
            flush=True,
        )
    if options.profile:
        with tempfile.TemporaryDirectory() as tmp:
            print("\nProfile of a full compile of 1000 SLOs (top functions by own time):\n")
            print("```")
            print(profile(1000, Path(tmp)))
            print("```")


if __name__ == "__main__":
    main()
