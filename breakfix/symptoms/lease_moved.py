"""Symptom kind `lease_moved`: its fields and its check."""
from __future__ import annotations

import time

from ..errors import SymptomNotObserved
from ..params import TEXT, seconds
from ..shapes import lease_holder
from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, wait_seen


def _lease_moved(lab, inj, spec) -> str:
    lease = spec.lease
    seen = {}

    def probe() -> Observation:
        holder, obj = lease_holder(lab.kube, lease)
        seen["duration"] = obj.spec.lease_duration_seconds
        return Observation(holder is not None and holder != lab.node_name,
                           f"lease kube-system/{lease}: holder {obj.spec.holder_identity}, "
                           f"duration {obj.spec.lease_duration_seconds}s, transitions {obj.spec.lease_transitions}")

    text = wait_seen(probe, f"lease {lease} held by a node other than {lab.node_name}", lab.t("symptom"), interval=0.5)
    handover = time.monotonic() - inj.started
    duration = seen.get("duration") or 0
    lab.reporter.timing(f"lease {lease} hand-over", handover, fault=inj.fault.id, lease_duration=duration)
    line = f"{text}; hand-over {handover:.1f}s after the change (lease duration {duration}s)"
    if duration and handover > spec.max_lease_durations * duration:
        raise SymptomNotObserved(f"lease {lease} moved", f"{line}: slower than {spec.max_lease_durations} "
                                                         "lease durations")
    return line


KIND = SymptomKind(
    "lease_moved",
    "the leader lease passes from the target node to another one; the hand-over (from the change to "
    "the new holder) is reported next to the lease's duration and is at most max_lease_durations of it",
    {"lease": (TEXT, REQUIRED), "max_lease_durations": (seconds(1), 4)},
    _lease_moved)
