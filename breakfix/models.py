"""The fault file as pydantic v2 models (the lab file's are labs.py's), from which schemas.py writes
the JSON Schemas (schemas/fault.json, schemas/lab.json: `make schemas`; editors with the YAML language server complete and check the files
as authors type, through the `# yaml-language-server: $schema=...` line at their top).

Why pydantic v2: it is the most used and best kept validation library for Python, validates plain
YAML data in strict mode (no silent "1" -> 1 coercion), reports every error with its location (which
becomes the one-line `path: field 'x.y[0]': reason`), and writes a standard JSON Schema (2020-12) from
the same declaration.

The model is the one place of the fault file's rules. It is built from the tables the engine has:
the target kinds (targets_spec.TARGET_KINDS, with their cross-field rules), the edit ops
(edits.EDIT_OPS) and the symptom kinds (breakfix/symptoms/: each kind's module declares its fields,
their types and defaults), each parameter with its type (params.Param: its check and its JSON
Schema), so a kind added to the engine is validated and in the schema at once. catalog.parse_fault runs it and turns its first error into the one line."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr,
                      TypeAdapter, ValidationError, WithJsonSchema, create_model, field_validator,
                      model_validator)

from .edits import EDIT_OPS
from .errors import FaultFileError
from .params import pydantic_type
from .shapes import DEFAULT_FAULT_SHAPES, DEFAULT_NODE, check_selector, check_version_range, shape_names
from .symptoms import SYMPTOM_KINDS
from .targets_spec import COMPONENTS, TARGET_KINDS

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,62}$"
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")


class FieldProblem(Exception):
    """A cross-field rule broken: FIELD (a dotted location) and the REASON. Not a ValueError, so that
    pydantic lets it through with its own location instead of the model's."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TargetFields(_Strict):
    """A fault's `target`, validated: the engine's own object (targets.py reads its fields by name)."""
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _entry_models(table: dict, key: str, kind_of) -> list[type[BaseModel]]:
    models = []
    for name, spec in table.items():
        required, optional, doc = kind_of(spec)
        defaults = getattr(spec, "defaults", {})
        fields: dict[str, Any] = {key: (Literal[name], ...)}
        for k, t in required.items():
            fields[k] = (pydantic_type(t), ...)
        for k, t in optional.items():
            fields[k] = (pydantic_type(t), defaults[k]) if k in defaults else (pydantic_type(t) | None, None)
        prefix = "Target" if table is TARGET_KINDS else key.capitalize()
        base = TargetFields if table is TARGET_KINDS else _Strict
        m = create_model(f"{prefix}_{name}", __base__=base, __doc__=doc, **fields)
        models.append(m)
    return models


def _edit_spec(entry):
    _, required, optional = entry
    return required, optional, None


def _target_spec(spec):
    return spec.required, spec.optional, spec.summary


_EDITS = _entry_models(EDIT_OPS, "op", _edit_spec)
_SYMPTOMS = [k.model for k in SYMPTOM_KINDS.values()]     # each kind's own (breakfix/symptoms/)
_TARGETS = _entry_models(TARGET_KINDS, "kind", _target_spec)
Edit = Annotated[Union[tuple(_EDITS)], Field(discriminator="op")]
Symptom = Annotated[Union[tuple(_SYMPTOMS)], Field(discriminator="kind")]
Target = Annotated[Union[tuple(_TARGETS)], Field(discriminator="kind")]
SYMPTOM = TypeAdapter(Symptom)
TARGET = TypeAdapter(Target)


_VERSIONS_SCHEMA = {"anyOf": [{"type": "object", "additionalProperties": False, "minProperties": 1,
                               "properties": {k: {"type": "string", "pattern": r"^v1\.[0-9]+$"} for k in ("min", "max")}},
                              {"type": "null"}]}


class Verify(_Strict):
    scale: StrictInt = Field(1, ge=1, description="replicas added to `app` after the fix (0 would prove nothing)")
    on_node: StrictBool = Field(False, description="the verification's new pod must run on the fault's node (placed "
                                "there through the scheduler): for a fault in what a node does for its own pods, "
                                "e.g. the CNI; otherwise it runs wherever the scheduler puts it")


class FaultFile(_Strict):
    """A kube-breakfix fault: faults/<id>.yaml."""
    id: str = Field(pattern=ID_PATTERN, description="lowercase letters, digits and dashes; the file name")
    component: Literal[tuple(COMPONENTS)]
    title: StrictStr = Field(min_length=1)
    severity: Literal[SEVERITIES] = "critical"
    target: Target = Field(description="what the fault changes; each kind says how it is backed up, changed, "
                                       "proven and undone")
    edits: list[Edit] = Field(default_factory=list, description="the changes to the target's document (the "
                                                                "target kind says whether it takes any)")
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
    k8s_versions: Annotated[dict[StrictStr, Any] | None, WithJsonSchema(_VERSIONS_SCHEMA)] = Field(
        None, description="{min, max}: the Kubernetes versions the fault applies to")

    @field_validator("shapes")
    @classmethod
    def _known_shapes(cls, shapes):
        known = shape_names()
        for x in shapes:
            if x not in known:
                raise ValueError(f"unknown shape {x!r} (known: {', '.join(known)})")
        return shapes

    @field_validator("node")
    @classmethod
    def _selectors(cls, node):
        nodes = node if isinstance(node, list) else [node]
        if not nodes:
            raise ValueError("must name a node or list at least one")
        for n in nodes:
            why = check_selector(n)
            if why:
                raise ValueError(why)
        if len(set(nodes)) != len(nodes):
            raise ValueError("lists a node twice")
        return node

    @field_validator("k8s_versions")
    @classmethod
    def _versions(cls, value):
        why = value is not None and check_version_range(value)
        if why:
            raise ValueError(why)
        return value

    @model_validator(mode="after")
    def _target_rules(self):
        spec = TARGET_KINDS[self.target.kind]
        if spec.edits == "required" and not self.edits:
            raise FieldProblem("edits", f"a {self.target.kind} target needs at least one edit")
        if spec.edits == "refused" and self.edits:
            raise FieldProblem("edits", f"a {self.target.kind} target takes no edits")
        if spec.check:
            problem = spec.check(self.target.model_dump(exclude_none=True), self.model_dump(exclude_none=True))
            if problem:
                raise FieldProblem(*problem)
        return self


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


_TAG_WORDS = {"op": "edit op", "kind": "symptom kind"}
# A union member's name pydantic puts in an error's location (node: str | list[str]): not a field.
_MEMBER = re.compile(r"^(str|int|bool|float|none|list\[.*\]|dict\[.*\])$")
_TYPE_WORDS = {"int_type": "an integer", "string_type": "a string", "bool_type": "true or false",
               "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
               "model_attributes_type": "a mapping", "float_type": "a number"}


def _reason(e: dict, owner: str | None) -> str:
    """pydantic's error in the words of the fault file (what the field must be)."""
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return f"is required by {owner}" if owner else "is required"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, got {type(value).__name__}"
    if kind == "greater_than_equal":
        return f"must be {'an integer ' if isinstance(value, int) else ''}>= {ctx.get('ge')}, got {value!r}"
    if kind == "too_short":
        return "must list at least one entry" if isinstance(value, list) else "must not be empty"
    if kind == "string_pattern_mismatch":
        return "must be lowercase letters, digits and dashes (3-63 characters)" \
            if ctx.get("pattern") == ID_PATTERN else f"must match {ctx.get('pattern')}"
    if kind == "literal_error" and "expected" in ctx:
        return f"must be one of {ctx['expected']}, got {value!r}"
    if kind == "union_tag_invalid":
        key = str(ctx.get("discriminator", "")).strip("'")
        what = "target kind" if "target" in e["loc"] else _TAG_WORDS.get(key, key)
        return f"unknown {what} {ctx.get('tag')!r} (known: {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return "is required"
    return e["msg"].removeprefix("Value error, ")


def pydantic_error(exc: ValidationError, path: Path, cls=FaultFileError, where: str = "") -> FaultFileError:
    """pydantic's first error as the one line: path, field (its location, e.g. steps[1].fixed.x),
    reason. A discriminated union's tag (an edit op, a symptom kind, a target kind) and a validator's
    name are left out of the location; an unknown tag is named at the tag's own field."""
    e = exc.errors(include_url=False)[0]
    loc, prev, owner = [], None, None
    for p in e["loc"]:
        if isinstance(p, str) and (prev is None or isinstance(prev, int)) and (p in EDIT_OPS or p in SYMPTOM_KINDS):
            owner = f"op {p}" if p in EDIT_OPS else f"symptom {p}"
        elif isinstance(p, str) and prev == "target" and p in TARGET_KINDS:
            owner = f"a {p} target"
        elif not (isinstance(p, str) and (p.startswith("function-") or _MEMBER.match(p))):
            loc.append(p)
        prev = p
    if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append(str((e.get("ctx") or {}).get("discriminator", "")).strip("'"))
    field = _loc(tuple(loc))
    return cls(path, f"{where}.{field}" if where and field != "(document)" else (where or field), _reason(e, owner))


def validate_fault(data: Any, path: Path) -> FaultFile:
    """The fault file's model, or FaultFileError (path, field, reason: one line)."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise FaultFileError(path, "(document)", f"must be a mapping of fault fields (id, component, ...), got {got}")
    try:
        return FaultFile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, path) from None
    except FieldProblem as exc:
        raise FaultFileError(path, exc.field, exc.reason) from None


def validate_symptom(data: Any, path: Path, where: str, cls=FaultFileError) -> str:
    """One symptom entry (a fault's, or one a lab step declares); returns its kind."""
    try:
        SYMPTOM.validate_python(data)
    except ValidationError as exc:
        raise pydantic_error(exc, path, cls, where) from None
    return data["kind"]
