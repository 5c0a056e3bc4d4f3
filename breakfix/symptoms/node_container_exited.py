"""Symptom kind `node_container_exited`: its fields and its check."""
from __future__ import annotations

from ..view import node_component
from ..waits import Observation
from ._kind import SymptomKind, static_pod_of, wait_seen


def _node_container_exited(lab, inj, spec) -> str:
    """On the node (the grader's view of the component): the newest container of the edited pod
    (not the one that ran before) exited, with the exit code and log text asked for."""
    name = spec.container or static_pod_of(inj)
    code, text = spec.exit_code, spec.log_contains

    def probe() -> Observation:
        v = node_component(lab.node, lab.node_name, name, exclude_uid=inj.before_uid, since_ns=inj.since_ns)
        if not v.listed:
            return Observation(False, v.problem or "crictl failed")
        if not v.state:
            return Observation(False, f"no new {name} container yet ({v.line()})")
        exited = v.state == "CONTAINER_EXITED" or "CONTAINER_EXITED" in v.before
        if spec.exited and not exited:
            return Observation(False, f"{v.line()}: none exited yet")
        ok = code is None or v.exit_code == code
        seen = v.line()
        if ok and text:
            hits = [ln for ln in v.log.splitlines() if text in ln]
            ok = bool(hits)
            seen += "\n" + ("\n".join(hits[:5]) if hits else f"log tail: {v.log[-300:]!r}")
        return Observation(ok, seen)

    return wait_seen(probe, f"{name} container exited on the node", lab.t("symptom"), max(lab.poll, 1.0))


KIND = SymptomKind(
    "node_container_exited",
    "on the node (crictl), the component's newest container exited, optionally with a code and log text",
    {"container": (str, None), "exit_code": (int, None), "log_contains": (str, None), "exited": (bool, True)},
    _node_container_exited)
