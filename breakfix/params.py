"""Types of the parameters a fault file gives to an edit op (edits.EDIT_OPS) or a symptom kind
(breakfix/symptoms/: each kind's fields). Each says in words what it accepts, for the one-line error, and
checks a value; the catalog validates every parameter with them when it loads a file, so a wrong
type is refused before anything runs instead of failing half-way through an injection."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StrictStr, WithJsonSchema

from .waits import MIN_SECONDS


@dataclass(frozen=True)
class Param:
    what: str                          # "an integer 1-65535": completes "must be ..."
    accepts: Callable[[Any], bool]
    schema: dict = field(default_factory=dict, compare=False)   # the same rule as JSON Schema (schemas/)

    def problem(self, value: Any) -> str | None:
        """None when VALUE is acceptable, else the reason (one line)."""
        if self.accepts(value):
            return None
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return f"must be {self.what}, got {type(value).__name__} {shown}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def choice(*values: str) -> Param:
    return Param(f"one of {', '.join(values)}", lambda v: isinstance(v, str) and v in values,
                 {"type": "string", "enum": list(values)})


def seconds(minimum: float) -> Param:
    return Param(f"a number of seconds >= {minimum:g}", lambda v: _is_number(v) and v >= minimum,
                 {"type": "number", "minimum": minimum})


TEXT = Param("a non-empty string", lambda v: isinstance(v, str) and v.strip() != "",
             {"type": "string", "minLength": 1})
FLAG = Param("a string starting with '-' (e.g. --kubeconfig)",
             lambda v: isinstance(v, str) and v.startswith("-") and v.strip("-") != "",
             {"type": "string", "pattern": "^-+[^-]"})
FLAG_VALUE = Param("a string or a number (quote true/false), or null for a bare flag",
                   lambda v: v is None or isinstance(v, str) or _is_number(v),
                   {"type": ["string", "number", "null"]})
PORT = Param("an integer 1-65535", lambda v: _is_int(v) and 1 <= v <= 65535,
             {"type": "integer", "minimum": 1, "maximum": 65535})
ABS_PATH = Param("an absolute path (a string starting with '/')",
                 lambda v: isinstance(v, str) and v.startswith("/"), {"type": "string", "pattern": "^/"})
FIELD_PATH = Param("a field path like clusters[0].cluster.server",
                   lambda v: isinstance(v, str) and v.strip(".[]") != "" and " " not in v,
                   {"type": "string", "pattern": "^[^ ]*[^ .\\[\\]][^ ]*$"})
ANY = Param("any value", lambda v: True)
ANY_TEXT = Param("a string (may be empty)", lambda v: isinstance(v, str), {"type": "string"})
HOLD = seconds(MIN_SECONDS["hold"])
WORKLOAD = Param("deployment/NAMESPACE/NAME or daemonset/NAMESPACE/NAME",
                 lambda v: isinstance(v, str) and len(v.split("/")) == 3 and all(v.split("/"))
                 and v.split("/")[0] in ("deployment", "daemonset"),
                 {"type": "string", "pattern": "^(deployment|daemonset)/[^/]+/[^/]+$"})
INTS = Param("a non-empty list of integers", lambda v: isinstance(v, list) and bool(v) and all(
    _is_int(x) for x in v), {"type": "array", "items": {"type": "integer"}, "minItems": 1})
STREAK = Param("an integer 1-20 (failed probes in a row)", lambda v: _is_int(v) and 1 <= v <= 20,
               {"type": "integer", "minimum": 1, "maximum": 20})


def pydantic_type(p: Any):
    """A parameter's declared type (a Param, or a Python type) as a pydantic type: a Param keeps its
    check (its words become the one-line error) and its JSON Schema."""
    if isinstance(p, Param):
        def check(v, p=p):
            reason = p.problem(v)
            if reason:
                raise ValueError(reason)
            return v
        return Annotated[Any, AfterValidator(check), WithJsonSchema(dict(p.schema) or {}), Field(description=p.what)]
    return {int: StrictInt, str: StrictStr, bool: StrictBool, list: list[StrictStr], float: float}.get(p, Any)
