"""Symptom kind `previous_log_contains`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, static_pod_of, wait_seen


def _previous_log(lab, inj, spec) -> str:
    comp, text = static_pod_of(inj), spec.text

    def probe() -> Observation:
        try:
            log = lab.kube.logs(lab.mirror_pod_name(comp), previous=True, tail=200)
        except Exception as exc:  # noqa: BLE001
            return Observation(False, f"no previous log yet ({exc.__class__.__name__})")
        lines = [ln for ln in log.splitlines() if text in ln]
        return Observation(bool(lines), "\n".join(lines) if lines else f"log tail: {log.strip()[-400:]!r}")

    return wait_seen(probe, f"previous log of {comp} contains {text!r}", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "previous_log_contains",
    "the previous log of the component's container contains a text",
    {"text": (str, REQUIRED)},
    _previous_log)
