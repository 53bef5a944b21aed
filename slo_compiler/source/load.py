"""Sources to checked models: each file parsed with positions, validated against its
model and checked, every problem of every file collected (nothing stops at the first).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from .checks.alertmanager import check_alertmanager, read_base
from .checks.config import check_config
from .checks.names import check_names
from .checks.platform import read_into
from .config import DEFAULT, Config
from .files import Source
from .model import SloFile
from .validate import validate_document
from .yamlpos import SourceMap, load


def load_config(
    source: Source | None, platform: Source | None = None, alertmanager: Source | None = None
) -> tuple[Config, list[Diagnostic]]:
    """The config file's model (the defaults without one) and every problem in it; with
    `platform`, the manifest its kubernetes.prometheus_config_file names, read into it;
    with `alertmanager`, the configuration its alertmanager.base names."""
    if source is None:
        return DEFAULT, []
    doc, problems = load(source.path, source.data)
    if doc is None:
        return DEFAULT, problems
    config, found = validate_document(doc, Config, "the config file")
    if config is None:
        return DEFAULT, problems + found
    config._source = source.name
    problems += check_config(config, doc.data, doc.source)
    problems += check_alertmanager(config, doc.source)
    if platform is not None:
        problems += read_into(config, platform, doc.source)
    if alertmanager is not None:
        problems += read_base(config, alertmanager, doc.source)
    return config, problems


Parsed = tuple[Source, SloFile, SourceMap]


def parse_files(sources: list[Source]) -> tuple[list[Parsed], list[Diagnostic]]:
    """Every SLO file parsed and validated against its model: those that passed (with
    where each field was), and every problem (names across files, each file's own). The
    checks that need planning knowledge follow (rules/checks)."""
    problems = check_names(sources)
    parsed: list[Parsed] = []
    for source in sources:
        doc, found = load(source.path, source.data)
        problems += found
        if doc is None:
            continue
        model, found = validate_document(doc)
        problems += found
        if model is not None:
            parsed.append((source, model, doc.source))
    return parsed, problems
