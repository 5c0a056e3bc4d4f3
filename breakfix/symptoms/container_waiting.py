"""Symptom kind `container_waiting`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, static_pod_of, wait_seen


def _waiting(lab, inj, spec) -> str:
    comp, reasons = static_pod_of(inj), set(spec.reason_any)

    def probe() -> Observation:
        v = lab.component_view(comp)
        return Observation(v.waiting_reason in reasons and v.config_hash != inj.before_uid,
                           v.line() + (f" ({v.waiting_message})" if v.waiting_message else ""))

    return wait_seen(probe, f"{comp} waiting with {sorted(reasons)}", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "container_waiting",
    "the component's container waits with one of the given reasons (e.g. ImagePullBackOff)",
    {"reason_any": (list, REQUIRED)},
    _waiting)
