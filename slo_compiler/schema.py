"""JSON Schemas written from the models, for editors and for other tools."""

from __future__ import annotations

import json
from typing import Any

from .model import SloFile

SLO_SCHEMA_FILE = "slo.schema.json"
SCHEMA_ID = "https://slo-compiler.dev/schemas/slo.schema.json"


def slo_schema() -> dict[str, Any]:
    schema = SloFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_files() -> dict[str, bytes]:
    """Everything `slo-compiler schema` writes, by file name."""
    text = json.dumps(slo_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {SLO_SCHEMA_FILE: text.encode("utf-8")}
