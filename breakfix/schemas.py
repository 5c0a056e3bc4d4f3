"""The JSON Schemas of the fault and lab files (schemas/*.json), from their pydantic models
(models.py, labs.py): `make schemas` writes them, `make schemas-check` (python -m breakfix.schemas
--check) says whether the checked-in ones are up to date."""
from __future__ import annotations

import json
from pathlib import Path

from .labs import LabFile
from .models import FaultFile

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _title(schema: dict, name: str, url: str) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, **schema}


def _lab_schema() -> dict:
    """A lab step's inline fault and symptoms are fault-file parts: refer to schemas/fault.json."""
    schema = LabFile.model_json_schema()
    step = schema["$defs"]["Step"]["properties"]
    step["inline"] = {"anyOf": [{"$ref": "fault.json"}, {"type": "null"}], "default": None,
                      "description": step["inline"].get("description", "")}
    step["symptoms"] = {"type": "array", "items": {"$ref": "fault.json#/properties/symptoms/items"},
                        "description": step["symptoms"].get("description", "")}
    return schema


def schemas() -> dict[str, dict]:
    base = "https://github.com/kube-breakfix/kube-breakfix/schemas"
    return {"fault.json": _title(FaultFile.model_json_schema(), "fault", f"{base}/fault.json"),
            "lab.json": _title(_lab_schema(), "lab", f"{base}/lab.json")}


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, schema in schemas().items():
        p = directory / name
        p.write_text(render(schema))
        out.append(p)
    return out


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """The checked-in schemas that differ from what the models give (empty when up to date)."""
    return [name for name, schema in schemas().items()
            if not (directory / name).is_file() or (directory / name).read_text() != render(schema)]


if __name__ == "__main__":   # python -m breakfix.schemas [--check]
    import sys
    if "--check" in sys.argv[1:]:
        stale = stale_schemas()
        if stale:
            print(f"kube-breakfix: schemas/{', schemas/'.join(stale)} out of date: run `make schemas`",
                  file=sys.stderr)
            sys.exit(1)
        print("schemas up to date")
    else:
        for p in write_schemas():
            print(p)
