"""Symptom checks: each waits (deadline-bound) until the symptom shows and returns the evidence
as text, or raises SymptomNotObserved / WaitTimeout with what it saw last. The parameters of each
kind are declared in symptoms_spec.py."""
from __future__ import annotations

from typing import Callable

from .errors import SymptomNotObserved, WaitTimeout
from .kube import event_time
from .symptoms_spec import SYMPTOM_KINDS
from .waits import Observation, hold, wait_until

BACKOFF_REASONS = {"CrashLoopBackOff", "RunContainerError", "CreateContainerError", "StartError",
                   "ContainerCannotRun", "Error"}


def _not_running(lab, inj, spec) -> str:
    comp = inj.fault.component
    reasons = set(spec.get("reason_any") or BACKOFF_REASONS)
    tre = set(spec.get("terminated_reason_any") or [])
    code = spec.get("exit_code")
    text = spec.get("message_contains")

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

    return _wait(probe, f"{comp} container not running", lab.t("symptom"), lab.poll)


def _previous_log(lab, inj, spec) -> str:
    comp, text = inj.fault.component, spec["text"]

    def probe() -> Observation:
        try:
            log = lab.kube.logs(lab.mirror_pod_name(comp), previous=True, tail=200)
        except Exception as exc:  # noqa: BLE001
            return Observation(False, f"no previous log yet ({exc.__class__.__name__})")
        lines = [ln for ln in log.splitlines() if text in ln]
        return Observation(bool(lines), "\n".join(lines) if lines else f"log tail: {log.strip()[-400:]!r}")

    return _wait(probe, f"previous log of {comp} contains {text!r}", lab.t("symptom"), lab.poll)


def _waiting(lab, inj, spec) -> str:
    comp, reasons = inj.fault.component, set(spec["reason_any"])

    def probe() -> Observation:
        v = lab.component_view(comp)
        return Observation(v.waiting_reason in reasons and v.config_hash != inj.before_uid,
                           v.line() + (f" ({v.waiting_message})" if v.waiting_message else ""))

    return _wait(probe, f"{comp} waiting with {sorted(reasons)}", lab.t("symptom"), lab.poll)


def _component_ready(lab, inj, spec) -> str:
    comp = inj.fault.component
    wait_until(lambda: lab.component_ready(comp), f"{comp} Ready", lab.t("symptom"), interval=lab.poll)
    return hold(lambda: lab.component_ready(comp), f"{comp} stays Ready", lab.hold_for(spec, half=True),
                interval=lab.poll).text()


def _not_scheduled(lab, inj, spec) -> str:
    workload = spec.get("workload", "probe")
    if workload == "app":
        # The lab's story: the application is (re)deployed while the scheduler is down.
        lab.kube.delete_deployment(lab.app_name, lab.namespace)
        wait_until(lambda: Observation(not lab.kube.pods(lab.namespace, f"app={lab.app_name}"),
                                       f"{len(lab.kube.pods(lab.namespace, f'app={lab.app_name}'))} old app pods"),
                   "old app pods gone", lab.t("scale"))
        lab.kube.ensure_deployment(lab.app_name, lab.app_image, 1, lab.namespace)
        inj.context["app_base"] = 1

        def pods():
            return lab.kube.pods(lab.namespace, f"app={lab.app_name}")
    else:
        name = lab.kube.create_probe_pod(lab.probe_image, lab.namespace)
        inj.context.setdefault("probe_pods", []).append(name)

        def pods():
            return [lab.kube.pod(name, lab.namespace)]

    def pending() -> Observation:
        ps = pods()
        if not ps:
            return Observation(False, "no pod yet")
        lines, ok = [], True
        for p in ps:
            conds = {c.type: c.status for c in p.status.conditions or []}
            unscheduled = p.status.phase == "Pending" and not p.spec.node_name and conds.get("PodScheduled") != "True"
            ok &= unscheduled
            lines.append(f"pod {p.metadata.name}: phase={p.status.phase} node={p.spec.node_name or '<none>'} "
                         f"PodScheduled={conds.get('PodScheduled', '<unset>')}")
        return Observation(ok, "; ".join(lines))

    wait_until(pending, "a pod Pending", lab.t("symptom"), interval=lab.poll)
    return hold(pending, "pod stays Pending with no node", lab.hold_for(spec), interval=lab.poll).text()


def _scale_stuck(lab, inj, spec) -> str:
    base, _, _ = lab.app_ready_replicas()
    target = spec.get("replicas") or base + spec.get("add", 1)
    inj.context.setdefault("app_base", base)
    inj.context["scale_target"] = target
    lab.kube.scale(lab.app_name, target, lab.namespace)

    def stuck() -> Observation:
        d = lab.kube.deployment(lab.app_name, lab.namespace)
        rs_pods = len(lab.kube.pods(lab.namespace, f"app={lab.app_name}"))
        seen = (f"deployment {lab.app_name}: spec.replicas={d.spec.replicas} status.replicas={d.status.replicas or 0} "
                f"ready={d.status.ready_replicas or 0} pods={rs_pods}")
        return Observation(d.spec.replicas == target and rs_pods < target, seen)

    return hold(stuck, f"{lab.app_name} stays below {target} replicas", lab.hold_for(spec),
                interval=lab.poll).text()


def _api_unreachable(lab, inj, spec) -> str:
    streak = {"n": 0}

    def probe() -> Observation:
        ok, seen = lab.kube.readyz()
        streak["n"] = 0 if ok else streak["n"] + 1
        return Observation(streak["n"] >= 3, f"{seen} (failures in a row: {streak['n']})")

    return _wait(probe, "API server unreachable", lab.t("symptom"), lab.poll)


def _node_container_exited(lab, inj, spec) -> str:
    """On the node (the grader's view of the component): the newest container of the edited pod
    (not the one that ran before) exited, with the exit code and log text asked for."""
    from .grading.view import node_component
    name = spec.get("container") or inj.fault.component
    code, text = spec.get("exit_code"), spec.get("log_contains")

    def probe() -> Observation:
        v = node_component(lab.node, lab.node_name, name, exclude_uid=inj.before_uid, since_ns=inj.since_ns)
        if not v.listed:
            return Observation(False, v.problem or "crictl failed")
        if not v.state:
            return Observation(False, f"no new {name} container yet ({v.line()})")
        exited = v.state == "CONTAINER_EXITED" or "CONTAINER_EXITED" in v.before
        if spec.get("exited", True) and not exited:
            return Observation(False, f"{v.line()}: none exited yet")
        ok = code is None or v.exit_code == code
        seen = v.line()
        if ok and text:
            hits = [ln for ln in v.log.splitlines() if text in ln]
            ok = bool(hits)
            seen += "\n" + ("\n".join(hits[:5]) if hits else f"log tail: {v.log[-300:]!r}")
        return Observation(ok, seen)

    return _wait(probe, f"{name} container exited on the node", lab.t("symptom"), max(lab.poll, 1.0))


def _node_not_ready(lab, inj, spec) -> str:
    def probe() -> Observation:
        ok, seen = lab.kube.node_ready(lab.node_name)
        return Observation(not ok, seen)

    return _wait(probe, f"node {lab.node_name} NotReady", lab.t("node_not_ready"), lab.poll)


def _unit_state(lab, inj, spec) -> str:
    unit, states = spec["unit"], set(spec["state_any"])

    def probe() -> Observation:
        s = lab.node.unit_state(unit)
        return Observation(s in states, f"{unit} is {s}")

    return _wait(probe, f"{unit} in {sorted(states)}", lab.t("symptom"), lab.poll)


def _journal(lab, inj, spec) -> str:
    unit, text = spec["unit"], spec["text"]

    def probe() -> Observation:
        j = lab.node.journal(unit, since=inj.since, lines=400)
        hits = [ln for ln in j.splitlines() if text in ln]
        return Observation(bool(hits), "\n".join(hits[-5:]) if hits else f"journal tail: {j.strip()[-300:]!r}")

    return _wait(probe, f"journal of {unit} contains {text!r}", lab.t("symptom"), max(lab.poll, 1.0))


def _wait(probe, what: str, deadline: float, interval: float) -> str:
    try:
        return wait_until(probe, what, deadline, interval=interval).text()
    except WaitTimeout as exc:
        raise SymptomNotObserved(what, f"not seen within {deadline:.0f}s; last seen: {exc.last_seen}") from None


CHECKS: dict[str, Callable] = {
    "container_not_running": _not_running,
    "previous_log_contains": _previous_log,
    "container_waiting": _waiting,
    "component_ready": _component_ready,
    "pod_not_scheduled": _not_scheduled,
    "scale_stuck": _scale_stuck,
    "api_unreachable": _api_unreachable,
    "node_container_exited": _node_container_exited,
    "node_not_ready": _node_not_ready,
    "unit_state": _unit_state,
    "journal_contains": _journal,
}
assert set(CHECKS) == set(SYMPTOM_KINDS), "every declared symptom kind needs a check"


def check(lab, inj, spec: dict) -> str:
    return CHECKS[spec["kind"]](lab, inj, spec)


def describe_events(kube, name: str, namespace: str) -> str:
    rows = [f"{event_time(e)} {e.type} {e.reason}: {e.message}" for e in kube.events_for(name, namespace)]
    return "\n".join(rows[-30:]) or "(no events)"
