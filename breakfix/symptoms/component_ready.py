"""Symptom kind `component_ready`: its fields and its check."""
from __future__ import annotations

from ..params import HOLD
from ..waits import hold, wait_until
from ._kind import SymptomKind


def _component_ready(lab, inj, spec) -> str:
    comp = inj.fault.component
    wait_until(lambda: lab.component_ready(comp), f"{comp} Ready", lab.t("symptom"), interval=lab.poll)
    return hold(lambda: lab.component_ready(comp), f"{comp} stays Ready", lab.hold_for(spec.model_dump(), half=True),
                interval=lab.poll).text()


KIND = SymptomKind(
    "component_ready",
    "the component itself stays Ready (the fault is in what it does, not whether it runs)",
    {"hold": (HOLD, None)},
    _component_ready)
