"""Checks that need planning knowledge (the SLI's selectors resolved, the tiers for the
period and scrape interval): one SLO file's fields (slos), names across files (unique),
latency thresholds against published buckets (buckets), routing labels no route takes
(routing). Each returns every problem it finds as positioned Diagnostics; what they
resolve on the way is handed to planning, which derives nothing twice.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...source.files import Source
from ...source.load import Parsed
from .slos import CheckedFile, check_file
from .unique import check_unique


def check_files(
    parsed: list[Parsed],
) -> tuple[list[tuple[Source, CheckedFile]], list[Diagnostic]]:
    """Every parsed SLO file checked: those that passed, and every problem (each file's
    own, then names across files)."""
    problems: list[Diagnostic] = []
    checked: list[tuple[Source, CheckedFile]] = []
    for source, model, where in parsed:
        result, found = check_file(model, where)
        problems += found
        if result is not None:
            checked.append((source, result))
    problems += check_unique([c for _, c in checked])
    return checked, problems
