"""The fault file and the lab file as pydantic v2 models, and their JSON Schemas (schemas/fault.json,
schemas/lab.json: `make schemas`; editors with the YAML language server complete and check the files
as authors type, through the `# yaml-language-server: $schema=...` line at their top).

Why pydantic v2: it is the most used and best kept validation library for Python, validates plain
YAML data in strict mode (no silent "1" -> 1 coercion), reports every error with its location (which
becomes the one-line `path: field 'x.y[0]': reason`), and writes a standard JSON Schema (2020-12) from
the same declaration.

The fault model is built from the tables the engine already has: the edit ops (edits.EDIT_OPS) and
symptom kinds (symptoms_spec.SYMPTOM_KINDS) with their parameters' types (params.Param, each with its
check and its JSON Schema), so an op or a symptom kind added to the engine is in the schema at once.
catalog.parse_fault runs the model after its own cross-field rules (a manifest target must be the
component's manifest, ...), which JSON Schema cannot say."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr,
                      WithJsonSchema, create_model)

from .catalog import COMPONENTS, SERVICE_ACTIONS, SEVERITIES, TARGET_KINDS
from .edits import EDIT_OPS
from .labs import ID_PATTERN, LabFile
from .params import Param
from .shapes import DEFAULT_FAULT_SHAPES, DEFAULT_NODE
from .symptoms_spec import SYMPTOM_KINDS

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _param_type(p: Any):
    """A parameter's declared type (params.Param, a Python type or a tuple of types) as a pydantic type."""
    if isinstance(p, Param):
        def check(v, p=p):
            reason = p.problem(v)
            if reason:
                raise ValueError(reason)
            return v
        return Annotated[Any, AfterValidator(check), WithJsonSchema(dict(p.schema) or {}), Field(description=p.what)]
    return {int: StrictInt, str: StrictStr, bool: StrictBool, list: list[StrictStr], float: float}.get(p, Any)


def _entry_models(table: dict, key: str, kind_of) -> list[type[BaseModel]]:
    models = []
    for name, spec in table.items():
        required, optional, doc = kind_of(spec)
        fields: dict[str, Any] = {key: (Literal[name], ...)}
        for k, t in required.items():
            fields[k] = (_param_type(t), ...)
        for k, t in optional.items():
            fields[k] = (_param_type(t) | None, None)
        if key == "kind":
            fields["description"] = (StrictStr | None, Field(None, description="what is seen, in words"))
        m = create_model(f"{key.capitalize()}_{name}", __base__=_Strict, __doc__=doc, **fields)
        models.append(m)
    return models


def _edit_spec(entry):
    _, required, optional = entry
    return required, optional, None


def _symptom_spec(spec):
    types = spec.types
    return ({k: types.get(k, Any) for k in sorted(spec.required)},
            {k: types.get(k, Any) for k in spec.optional}, spec.summary)


_EDITS = _entry_models(EDIT_OPS, "op", _edit_spec)
_SYMPTOMS = _entry_models(SYMPTOM_KINDS, "kind", _symptom_spec)
Edit = Annotated[Union[tuple(_EDITS)], Field(discriminator="op")]
Symptom = Annotated[Union[tuple(_SYMPTOMS)], Field(discriminator="kind")]


class Target(_Strict):
    kind: Literal[TARGET_KINDS] = Field(description="manifest: a static pod manifest; file: a node file (then "
                                                    "`unit` is restarted); service: a systemd unit (`action`)")
    path: StrictStr | None = Field(None, description="manifest file name (e.g. kube-scheduler.yaml), or the "
                                                     "absolute path of a node file")
    unit: StrictStr | None = Field(None, description="systemd unit (file and service targets)")
    action: Literal[SERVICE_ACTIONS] | None = None


class Verify(_Strict):
    scale: StrictInt = Field(1, ge=1, description="replicas added to `app` after the fix (0 would prove nothing)")


class FaultFile(_Strict):
    """A kube-breakfix fault: faults/<id>.yaml."""
    id: str = Field(pattern=ID_PATTERN, description="lowercase letters, digits and dashes; the file name")
    component: Literal[tuple(COMPONENTS)]
    title: StrictStr = Field(min_length=1)
    severity: Literal[SEVERITIES] = "critical"
    target: Target
    edits: list[Edit] = Field(default_factory=list, description="manifest and file targets: at least one")
    symptoms: list[Symptom] = Field(min_length=1, description="what proves the fault (all must be seen)")
    fix: StrictStr = Field(min_length=1, description="the fix in one sentence")
    remediation: StrictStr = Field(min_length=1, description="how to find and fix it (Markdown in the report)")
    api_down: StrictBool = Field(False, description="the fault takes the API server away")
    reference_lab: StrictInt | None = Field(None, description="the step of the reference lab (informative; "
                                                              "labs/*.yaml decide)")
    verify: Verify | None = None
    tags: list[StrictStr] = Field(default_factory=list)
    shapes: list[StrictStr] = Field(default_factory=lambda: list(DEFAULT_FAULT_SHAPES), min_length=1,
                                    description="cluster shapes (clusters/<shape>.yaml) the fault applies to")
    node: StrictStr | list[StrictStr] = Field(DEFAULT_NODE, description="the node(s) to break: control-plane, "
                                              "control-plane-N, worker-N or leader:<lease>")
    k8s_versions: dict[StrictStr, StrictStr] | None = Field(None, description="{min, max}: the Kubernetes "
                                                                              "versions the fault applies to")


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


if __name__ == "__main__":   # python -m breakfix.models [--check]
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
