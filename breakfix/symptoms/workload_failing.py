"""Symptom kind `workload_failing`: its fields and its check."""
from __future__ import annotations

from ..params import WORKLOAD
from ..waits import Observation
from ._kind import BACKOFF_REASONS, REQUIRED, SymptomKind, wait_seen


def workload_status(kube, ref: str) -> dict:
    """A Deployment's or DaemonSet's status as numbers (`deployment/NS/NAME`): healthy when the
    controller has seen its last change and every wanted pod is updated, ready and available, and
    no old pod is left."""
    kind, ns, name = ref.split("/")
    if kind == "deployment":
        d = kube.apps.read_namespaced_deployment(name, ns, _request_timeout=10)
        st = d.status
        want = d.spec.replicas or 0
        nums = {"want": want, "current": st.replicas or 0, "updated": st.updated_replicas or 0,
                "ready": st.ready_replicas or 0, "available": st.available_replicas or 0}
    else:
        d = kube.apps.read_namespaced_daemon_set(name, ns, _request_timeout=10)
        st = d.status
        want = st.desired_number_scheduled or 0
        nums = {"want": want, "current": st.current_number_scheduled or 0, "updated": st.updated_number_scheduled or 0,
                "ready": st.number_ready or 0, "available": st.number_available or 0}
    observed = (st.observed_generation or 0) >= (d.metadata.generation or 0)
    healthy = observed and all(v == want for v in nums.values())
    line = f"{ref}: " + " ".join(f"{k}={v}" for k, v in nums.items()) + f" observed={observed}"
    return {"healthy": healthy, "line": line, "selector": d.spec.selector.match_labels or {}, **nums}



def _workload_failing(lab, inj, spec) -> str:
    """Pods of the workload started after the change do not run: a container waiting with one of
    the reasons (default: the back-off reasons), and the workload not healthy."""
    ref = spec.workload
    reasons = set(spec.reason_any or BACKOFF_REASONS | {"CrashLoopBackOff"})

    def probe() -> Observation:
        st = workload_status(lab.kube, ref)
        sel = ",".join(f"{k}={v}" for k, v in st["selector"].items())
        lines, bad = [st["line"]], 0
        for p in lab.kube.pods(ref.split("/")[1], sel):
            created = p.metadata.creation_timestamp.timestamp() if p.metadata.creation_timestamp else 0
            if inj.wall and created < inj.wall - 1:
                continue           # a pod from before the change proves nothing about it
            for c in p.status.container_statuses or []:
                w = c.state.waiting if c.state else None
                t = c.last_state.terminated if c.last_state else None
                lines.append(f"pod {p.metadata.name} {c.name}: waiting={w.reason if w else None} "
                             f"restarts={c.restart_count} last exit={t.exit_code if t else None}")
                if w and w.reason in reasons:
                    bad += 1
        return Observation(bad > 0 and not st["healthy"], "; ".join(lines))

    return wait_seen(probe, f"pods of {ref} started after the change failing with {sorted(reasons)}", lab.t("symptom"),
                 max(lab.poll, 1.0))


KIND = SymptomKind(
    "workload_failing",
    "pods of a Deployment or DaemonSet started after the change do not run (a container waiting with one "
    "of `reason_any`, default the back-off reasons) and the workload is not healthy",
    {"workload": (WORKLOAD, REQUIRED), "reason_any": (list, None)},
    _workload_failing)
