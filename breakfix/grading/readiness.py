"""The grader's waits on something that has just started: a static pod's container graded once it is
Ready (not failed before its startup probe ran), a kubelet graded once it has stayed up."""
from __future__ import annotations

import time

from ..kube import container_view
from ..waits import Observation, WaitTimeout, wait_until
from .results import MIN_UPTIME_S, READY_GRACE_S


def ready_once_started(kube, pod_name: str, v, now=time.time):
    """A container that runs but has just started is not Ready yet because its startup probe has
    not run: wait until it is Ready, stops running, or READY_GRACE_S after its start has passed
    (a fix checked at once is graded on the started component, never passed before it is Ready)."""
    if v.ready or not v.running or v.started_at is None or now() - v.started_at >= READY_GRACE_S:
        return v
    seen = [v]

    def ready() -> Observation:
        seen[0] = container_view(kube.pod(pod_name))
        return Observation(seen[0].ready or not seen[0].running, seen[0].line())
    try:
        wait_until(ready, f"{pod_name} Ready after its start", v.started_at + READY_GRACE_S - now(), interval=1)
    except WaitTimeout:
        pass          # graded as it is now: running, not Ready
    return seen[0]


def stays_up(seen, active, what: str) -> Observation:
    """SEEN's observation of a unit (ok: active and up MIN_UPTIME_S); when it is ACTIVE() yet not up
    that long (a restart loop, or just started), watched until it has stayed up: a unit that
    restarts in a loop is active for a moment each time. Judged on the last observation."""
    obs = seen()
    if not obs.ok and active():
        try:
            obs = wait_until(seen, what, MIN_UPTIME_S + 10, interval=2)
        except Exception:  # noqa: BLE001 - judged on the last observation below
            obs = seen()
    return obs
