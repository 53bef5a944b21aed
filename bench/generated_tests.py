"""What the generated promtool tests cost every user's CI: `promtool test rules` on the
example SLOs' generated tests, one run per SLO file (all its test files), beside `promtool
check rules` on the same rule files in the same run.

    python bench/generated_tests.py [--repeat 3]     # prints two Markdown tables

The goal (issue 13): at most 8 s for any SLO file's tests and 30 s for the six examples.
Reads the committed generated/ (run `slo-compiler compile` first if it is stale). Then
(issue 25) a service of 1, 2, 4 and 8 copies of the payment SLO: its tests' cost must grow
with its SLOs (8 SLOs at most 10x one), not with their square.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "generated/prometheus/tests"


def _seconds(args: list[str], cwd: Path, repeat: int) -> float:
    """The best of `repeat` runs (the least disturbed by the rest of the machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(args, cwd=cwd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("promtool") is None:
        raise SystemExit("promtool is needed (Debian package prometheus)")
    stems = sorted(p.name.removesuffix(".test.yaml") for p in TESTS.glob("*.test.yaml"))
    stems = [s for s in stems if ".every-" not in s]
    print("| SLO file | test files | promtool test rules | promtool check rules | ratio |")
    print("|---|---:|---:|---:|---:|")
    total_test = total_check = 0.0
    for stem in stems:
        files = [f"{stem}.test.yaml", *sorted(p.name for p in TESTS.glob(f"{stem}.every-*"))]
        tested = _seconds(["promtool", "test", "rules", *files], TESTS, args.repeat)
        checked = _seconds(
            ["promtool", "check", "rules", f"{stem}.rules.yaml"], TESTS.parent, args.repeat
        )
        total_test, total_check = total_test + tested, total_check + checked
        print(
            f"| {stem} | {len(files)} | {tested:.2f} s | {checked:.2f} s | {tested / checked:.1f} |"
        )
    print(f"| all | | {total_test:.2f} s | {total_check:.2f} s | {total_test / total_check:.1f} |")
    print()
    scaling(args.repeat)


def _service(work: Path, count: int) -> Path:
    """`count` copies of the payment SLO in one service, compiled (rules and tests)."""
    text = (ROOT / "slos/payment-service.yaml").read_text()
    head, slo = text.split("slos:\n", 1)
    copies = "".join(
        slo.replace("name: payment-failure-rate", f"name: payment-failure-rate-{i}").replace(
            "PaymentFailureBudgetBurn", f"PaymentFailure{i}BudgetBurn"
        )
        for i in range(count)
    )
    (work / "slos").mkdir(parents=True)
    (work / "slos/payment-service.yaml").write_text(head + "slos:\n" + copies)
    subprocess.run(
        [sys.executable, "-m", "slo_compiler", "compile", "-q", "--target", "prometheus",
         "--target", "promtool-tests", "--out", "gen"],
        check=True, cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    return work / "gen/prometheus/tests"


def scaling(repeat: int) -> None:
    print("| SLOs in the service | test files | promtool test rules | x one SLO |")
    print("|---:|---:|---:|---:|")
    one = 0.0
    for count in (1, 2, 4, 8):
        with tempfile.TemporaryDirectory() as work:
            tests = _service(Path(work), count)
            files = sorted(p.name for p in tests.glob("*.test.yaml"))
            took = _seconds(["promtool", "test", "rules", *files], tests, repeat)
        one = one or took
        print(f"| {count} | {len(files)} | {took:.2f} s | {took / one:.1f} |")


if __name__ == "__main__":
    main()
