"""Loaded YAML -> a model (an SLO file, the config file), pydantic's errors positioned.

pydantic already collects every shape error of a document; what it lacks is where each was
written and a stable code. Its `loc` tuples are the same paths `yamlpos` records positions
for, so each error is placed on the offending key or value.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..base.durations import DURATION_PATTERN
from ..diagnostics import Code, Diagnostic, excerpt
from .model import SloFile
from .yamlpos import Document

_TYPE_NAMES = {
    "dict": "a mapping",
    "list": "a list",
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "NoneType": "nothing",
}
_CUSTOM_CODES = {
    "objective": Code.OBJECTIVE,
    "duration": Code.DURATION,
    "reserved_label": Code.RESERVED_LABEL,
    "one_of": Code.INVALID_VALUE,
    "instant": Code.INVALID_VALUE,
}
# Numbers with a unit: said where a wrong type is reported (`threshold: 500ms`).
_UNITS = {"threshold": "a number of seconds (0.5 for 500ms)"}


def _percent_hint(value: object) -> str:
    """`99.5%`: the number the user meant, since every percentage here is written bare."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip().removesuffix("%").strip()
        try:
            float(number)
        except ValueError:
            return ""
        return f": write {number} (a percentage, without the %)"
    return ""


_FIELD_HINTS = {
    "name": "use lower-case letters, digits and dashes (at most 63), e.g. payment-failure-rate",
    "service": "use lower-case letters, digits and dashes (at most 63), e.g. payment-service",
    "period": "use a Prometheus duration such as 28d or 30d",
    "alert name": "use letters, digits and underscores, starting with a letter (at most "
    "150), e.g. PaymentFailureBudgetBurn",
}


def _all_fields(model: type[BaseModel], seen: set[str] | None = None) -> set[str]:
    """Every field name of the format, for "did you mean" suggestions."""
    names = seen if seen is not None else set()
    for name, info in model.model_fields.items():
        names.add(name)
        for arg in getattr(info.annotation, "__args__", (info.annotation,)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                _all_fields(arg, names)
    return names


def _describe(value: Any) -> str:
    name = type(value).__name__
    shown = excerpt(value) if isinstance(value, str | int | float | bool) else ""
    return f"{_TYPE_NAMES.get(name, name)} {shown}".strip()


def _diagnostic(doc: Document, error: Any, known_fields: list[str]) -> Diagnostic:
    loc = tuple(error["loc"])
    kind = error["type"]
    is_key = "[key]" in loc
    loc = tuple(part for part in loc if part != "[key]")
    field = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), known_fields, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return doc.source.diagnostic(
            loc, Code.UNKNOWN_FIELD, f"unknown field '{loc[-1]}'{hint}", key=True
        )
    if kind == "missing":
        return doc.source.diagnostic(
            loc[:-1], Code.MISSING_FIELD, f"missing required field '{loc[-1]}'"
        )
    if kind == "literal_error" and field == "apiVersion":
        return doc.source.diagnostic(
            loc,
            Code.API_VERSION,
            f"apiVersion must be {error['ctx']['expected']}, got {_describe(error['input'])}",
        )
    if kind in _CUSTOM_CODES:
        return doc.source.diagnostic(loc, _CUSTOM_CODES[kind], error["msg"], key=is_key)
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        expected = error["msg"].removeprefix("Input should be ").removeprefix("a valid ")
        if expected.split(" ")[0] in ("number", "integer", "string", "boolean", "list"):
            expected = f"{'an' if expected[0] == 'i' else 'a'} {expected}"
        expected = _UNITS.get(field, expected)
        return doc.source.diagnostic(
            loc,
            Code.WRONG_TYPE,
            f"'{field}' should be {expected}, got {_describe(error['input'])}"
            + _percent_hint(error["input"]),
            key=is_key,
        )
    if field == "objective":
        # Any value the type accepts but that cannot be an objective (NaN, infinity).
        return doc.source.diagnostic(
            loc,
            Code.OBJECTIVE,
            "objective is a percentage of good events strictly between 0 and 100, "
            f"got {_describe(error['input'])}",
        )
    if kind == "string_pattern_mismatch" and error["ctx"]["pattern"] == DURATION_PATTERN:
        return doc.source.diagnostic(
            loc,
            Code.DURATION,
            f"invalid {field} {excerpt(error['input'])}: "
            + _FIELD_HINTS.get(field, "use a Prometheus duration such as 5m, 1h30m or 30d"),
        )
    hint = _FIELD_HINTS.get("alert name" if loc[-2:] == ("alerting", "name") else field)
    message = (
        f"invalid {field or 'value'} {excerpt(error['input'])}: {hint}"
        if hint
        else (f"'{field}': {error['msg']}" if field else error["msg"])
    )
    code = Code.DURATION if field == "period" else Code.INVALID_VALUE
    return doc.source.diagnostic(loc, code, message, key=is_key)


M = TypeVar("M", bound=BaseModel)


@cache
def _known_fields(model: type[BaseModel]) -> list[str]:
    return sorted(_all_fields(model))


def validate_document(
    doc: Document,
    model: type[M] = SloFile,
    what: str = "an SLO file",  # type: ignore[assignment]
) -> tuple[M | None, list[Diagnostic]]:
    """The model of one document, or None and every shape problem in it."""
    if not isinstance(doc.data, dict):
        return None, [
            doc.source.diagnostic(
                (), Code.WRONG_TYPE, f"{what} is a mapping, got {_describe(doc.data)}"
            )
        ]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as err:
        return None, [_diagnostic(doc, e, _known_fields(model)) for e in err.errors()]
