"""Symptom kind `container_not_running`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import BACKOFF_REASONS, SymptomKind, static_pod_of, wait_seen


def _not_running(lab, inj, spec) -> str:
    comp = static_pod_of(inj)
    reasons = set(spec.reason_any or BACKOFF_REASONS)
    tre = set(spec.terminated_reason_any or [])
    code = spec.exit_code
    text = spec.message_contains

    def probe() -> Observation:
        v = lab.component_view(comp)
        if v.config_hash == inj.before_uid:
            return Observation(False, f"mirror pod still shows the old pod: {v.line()}")
        ok = not v.ready and (v.waiting_reason in reasons or v.last_reason in reasons)
        if tre:
            ok &= v.last_reason in tre
        if code is not None:
            ok &= v.last_exit_code == code
        seen = v.line()
        if ok and text:
            prev = ""
            if text not in (v.last_message or ""):
                try:
                    prev = lab.kube.logs(lab.mirror_pod_name(comp), previous=True, tail=100)
                except Exception as exc:  # noqa: BLE001 - no previous container yet
                    prev = f"(no previous log: {exc.__class__.__name__})"
            ok = text in (v.last_message or "") or text in prev
            if not ok:
                seen += f"; previous log tail: {prev.strip()[-300:]!r}"
        return Observation(ok, seen)

    return wait_seen(probe, f"{comp} container not running", lab.t("symptom"), lab.poll)


KIND = SymptomKind(
    "container_not_running",
    "the component's static pod container is not running (back-off), per the API",
    {"reason_any": (list, None), "terminated_reason_any": (list, None), "exit_code": (int, None), "message_contains": (str, None)},
    _not_running)
