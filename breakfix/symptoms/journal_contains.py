"""Symptom kind `journal_contains`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, wait_seen


def _journal(lab, inj, spec) -> str:
    unit, text = spec.unit, spec.text

    def probe() -> Observation:
        j = lab.node.journal(unit, since=inj.since, lines=400)
        hits = [ln for ln in j.splitlines() if text in ln]
        return Observation(bool(hits), "\n".join(hits[-5:]) if hits else f"journal tail: {j.strip()[-300:]!r}")

    return wait_seen(probe, f"journal of {unit} contains {text!r}", lab.t("symptom"), max(lab.poll, 1.0))


KIND = SymptomKind(
    "journal_contains",
    "the unit's journal since the fault contains a text",
    {"unit": (str, REQUIRED), "text": (str, REQUIRED)},
    _journal)
