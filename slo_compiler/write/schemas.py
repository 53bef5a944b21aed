"""JSON Schemas written from the models, for editors and for other tools.

Only our own formats (SLO files, the config file) are written here; the schemas of
Grafana's formats in schemas/ are written by hand from Grafana's documentation and tested
against what the Grafana targets emit.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..emit.text import json_text
from ..source.config import Config
from ..source.model import SloFile

SCHEMA_BASE = "https://slo-compiler.dev/schemas/"
MODELS: dict[str, type[BaseModel]] = {"slo.schema.json": SloFile, "config.schema.json": Config}


def schema_files() -> dict[str, bytes]:
    """Everything `slo-compiler schema` writes, by file name."""
    out = {}
    for name, model in MODELS.items():
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_BASE + name,
            **model.model_json_schema(),
        }
        out[name] = (json_text(schema) + "\n").encode()
    return out
