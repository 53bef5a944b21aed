"""Output targets. Each is a module with `render(plans) -> {relative path: bytes}`;
adding one means writing that module and naming it here, nothing else."""

from __future__ import annotations

from collections.abc import Callable

from ..ir import SourcePlan
from . import prometheus, promtool_tests

Renderer = Callable[[list[SourcePlan]], dict[str, bytes]]

TARGETS: dict[str, Renderer] = {
    "prometheus": prometheus.render,
    "promtool-tests": promtool_tests.render,
}
