"""Symptom kind `pod_not_scheduled`: its fields and its check."""
from __future__ import annotations

from .. import probes
from ..params import HOLD
from ..waits import Observation, hold, wait_until
from ._kind import SymptomKind


def _not_scheduled(lab, inj, spec) -> str:
    workload = spec.workload
    if workload == "app":
        # The lab's story: the application is (re)deployed while the scheduler is down.
        lab.kube.delete_deployment(lab.app_name, lab.namespace)

        def old_app_gone() -> Observation:
            # the deployment object too: created again while the garbage collector still holds it
            # (foreground deletion), the create conflicts and the deployment then vanishes
            left = len(lab.kube.pods(lab.namespace, f"app={lab.app_name}"))
            gone = lab.kube.deployment_gone(lab.app_name, lab.namespace)
            return Observation(not left and gone, f"{left} old app pods; deployment "
                                                  f"{'gone' if gone else 'still there (being deleted)'}")
        wait_until(old_app_gone, "old app deployment and pods gone", lab.t("scale"))
        lab.kube.ensure_deployment(lab.app_name, lab.app_image, 1, lab.namespace)
        inj.context.app_base = 1

        def pods():
            return lab.kube.pods(lab.namespace, f"app={lab.app_name}")
    else:
        name = lab.kube.create_probe_pod(lab.probe_image, lab.namespace)
        inj.context.probe_pods.append(name)

        def pods():
            return [lab.kube.pod(name, lab.namespace)]

    def pending() -> Observation:
        ps = pods()
        if not ps:
            return Observation(False, "no pod yet")
        lines, ok = [], True
        for p in ps:
            st, bound = probes.pod_state(p), probes.pod_bound(p)
            ok &= st["phase"] == "Pending" and not bound.ok and st["scheduled"] != "True"
            lines.append(bound.text())
        return Observation(ok, "; ".join(lines))

    wait_until(pending, "a pod Pending", lab.t("symptom"), interval=lab.poll)
    return hold(pending, "pod stays Pending with no node", lab.hold_for(spec.model_dump()), interval=lab.poll).text()


KIND = SymptomKind(
    "pod_not_scheduled",
    "a new pod stays Pending with no node for a while",
    {"workload": (str, "probe"), "hold": (HOLD, None)},
    _not_scheduled)
