"""What every symptom kind is made of (SymptomKind: its name, its summary, its fields with their types and
defaults, its check, and what it starts before the change), and what several kinds share."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, StrictStr, create_model

from ..errors import SymptomNotObserved, WaitTimeout
from ..params import pydantic_type
from ..waits import wait_until

BACKOFF_REASONS = {"CrashLoopBackOff", "RunContainerError", "CreateContainerError", "StartError",
                   "ContainerCannotRun", "Error"}
REQUIRED = ...      # a field's default when the fault file must give it


class SymptomFields(BaseModel):
    """A symptom entry of a fault file, validated, every field the file leaves out at its kind's default."""
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True)
class SymptomKind:
    """A symptom kind: NAME (the fault file's `kind`), SUMMARY (what is seen, in words), FIELDS (name ->
    (type, default): a Python type, or a params.Param; default REQUIRED when the file must give it, None
    when the check says what its absence means), CHECK(lab, inj, fields) -> evidence text (waits,
    deadline-bound, or raises SymptomNotObserved), MONITOR(lab, inj, fields): started right before the
    change, for what the check measures from there."""
    name: str
    summary: str
    fields: dict
    check: Callable[[Any, Any, Any], str]
    monitor: Callable[[Any, Any, Any], None] | None = None
    model: type[SymptomFields] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec: dict[str, Any] = {"kind": (Literal[self.name], ...)}
        for k, (typ, default) in self.fields.items():
            t = pydantic_type(typ)
            spec[k] = (t, ...) if default is REQUIRED else ((t | None, None) if default is None else (t, default))
        spec["description"] = (StrictStr | None, Field(None, description="what is seen, in words"))
        object.__setattr__(self, "model", create_model(f"Kind_{self.name}", __base__=SymptomFields,
                                                       __doc__=self.summary, **spec))

    @property
    def required(self) -> list[str]:
        return [k for k, (_, d) in self.fields.items() if d is REQUIRED]

    def parse(self, entry: Mapping | SymptomFields) -> SymptomFields:
        """ENTRY (a fault's symptom mapping, validated when its file was loaded) with every default."""
        return entry if isinstance(entry, self.model) else self.model.model_validate(dict(entry))


def static_pod_of(inj) -> str:
    """The control-plane static pod a fault's pod symptoms look at: the target's `static_pod` (a fault of
    the static pod directory), else the fault's component."""
    return getattr(inj.fault.target, "static_pod", None) or inj.fault.component


def wait_seen(probe, what: str, deadline: float, interval: float) -> str:
    """wait_until's evidence; running out of time is SymptomNotObserved with what was seen last."""
    try:
        return wait_until(probe, what, deadline, interval=interval).text()
    except WaitTimeout as exc:
        raise SymptomNotObserved(what, f"not seen within {deadline:.0f}s; last seen: {exc.last_seen}") from None
