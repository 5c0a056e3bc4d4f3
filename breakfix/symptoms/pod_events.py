"""Symptom kind `pod_events`: its fields and its check."""
from __future__ import annotations

import time

from ..kube import event_time
from ..params import choice
from ..waits import Observation
from ._kind import REQUIRED, SymptomKind, static_pod_of, wait_seen


def _pod_events(lab, inj, spec) -> str:
    """Events with one of the reasons, since the change, on a fresh probe pod placed on the target node
    that does not reach Running (`object: probe`), or on the component's mirror pod (`object: component`)."""
    import datetime as dt
    reasons = set(spec.reason_any)
    obj = spec.object
    if obj == "probe":       # on the node the fault broke: elsewhere a pod proves nothing about it
        name, ns = lab.kube.create_probe_pod(lab.probe_image, lab.namespace, node=lab.node_name), lab.namespace
        inj.context.probe_pods.append(name)
    else:
        name, ns = lab.mirror_pod_name(static_pod_of(inj)), "kube-system"
    since = dt.datetime.fromtimestamp((inj.wall or time.time()) - 1, dt.timezone.utc)

    def probe() -> Observation:
        evs = [e for e in lab.kube.events_for(name, ns) if e.reason in reasons
               and (e.last_timestamp or e.event_time or e.metadata.creation_timestamp) >= since]
        seen = [f"{event_time(e)} {e.type} {e.reason} x{e.count or 1}" for e in evs]
        ok = bool(evs)
        if obj == "probe":
            phase = lab.kube.pod(name, ns).status.phase
            ok &= phase != "Running"
            seen.insert(0, f"pod {name}: phase={phase}")
        return Observation(ok, "; ".join(seen) or f"no {sorted(reasons)} event on {name} since the change")

    return wait_seen(probe, f"{sorted(reasons)} events on {name}", lab.t("symptom"), max(lab.poll, 1.0))


KIND = SymptomKind(
    "pod_events",
    "events with one of `reason_any` since the change: on a fresh probe pod that does not reach Running "
    "(`object: probe`), or on the component's mirror pod (`object: component`)",
    {"reason_any": (list, REQUIRED), "object": (choice("probe", "component"), "probe")},
    _pod_events)
