"""Symptom kind `api_unreachable`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import SymptomKind, wait_seen


def _api_unreachable(lab, inj, spec) -> str:
    streak = {"n": 0}

    def probe() -> Observation:
        ok, seen = lab.kube.readyz()
        streak["n"] = 0 if ok else streak["n"] + 1
        return Observation(streak["n"] >= 3, f"{seen} (failures in a row: {streak['n']})")

    return wait_seen(probe, "API server unreachable", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "api_unreachable",
    "the API server does not answer /readyz",
    {},
    _api_unreachable)
