"""Symptom kind `node_not_ready`: its fields and its check."""
from __future__ import annotations

from ..waits import Observation
from ._kind import SymptomKind, wait_seen


def _node_not_ready(lab, inj, spec) -> str:
    def probe() -> Observation:
        ok, seen = lab.kube.node_ready(lab.node_name)
        return Observation(not ok, seen)

    return wait_seen(probe, f"node {lab.node_name} NotReady", lab.t("node_not_ready"), lab.poll)


KIND = SymptomKind(
    "node_not_ready",
    "the node's Ready condition is not True",
    {},
    _node_not_ready)
