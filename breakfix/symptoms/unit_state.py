"""Symptom kind `unit_state`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, wait_seen


def _unit_state(lab, inj, spec) -> str:
    unit, states = spec.unit, set(spec.state_any)

    def probe() -> Observation:
        s = lab.node.unit_state(unit)
        return Observation(s in states, f"{unit} is {s}")

    return wait_seen(probe, f"{unit} in {sorted(states)}", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "unit_state",
    "a systemd unit on the node is in one of the given states",
    {"unit": (str, REQUIRED), "state_any": (list, REQUIRED)},
    _unit_state)
