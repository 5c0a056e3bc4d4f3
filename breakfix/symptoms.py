"""Symptom checks: each waits (deadline-bound) until the symptom shows and returns the evidence
as text, or raises SymptomNotObserved / WaitTimeout with what it saw last. The parameters of each
kind are declared in symptoms_spec.py."""
from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Callable

from . import probes
from .errors import SymptomNotObserved, WaitTimeout
from .kube import event_time
from .shapes import CONTROL_PLANE_LABEL, lease_holder
from .symptoms_spec import SYMPTOM_KINDS
from .targets import endpoint, tfield
from .view import node_component
from .waits import Observation, hold, wait_until

BACKOFF_REASONS = {"CrashLoopBackOff", "RunContainerError", "CreateContainerError", "StartError",
                   "ContainerCannotRun", "Error"}


def static_pod_of(inj) -> str:
    """The control-plane static pod a fault's pod symptoms look at: the target's `static_pod` (a fault of
    the static pod directory), else the fault's component."""
    return tfield(inj.fault.target, "static_pod") or inj.fault.component


def _not_running(lab, inj, spec) -> str:
    comp = static_pod_of(inj)
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
    comp, text = static_pod_of(inj), spec["text"]

    def probe() -> Observation:
        try:
            log = lab.kube.logs(lab.mirror_pod_name(comp), previous=True, tail=200)
        except Exception as exc:  # noqa: BLE001
            return Observation(False, f"no previous log yet ({exc.__class__.__name__})")
        lines = [ln for ln in log.splitlines() if text in ln]
        return Observation(bool(lines), "\n".join(lines) if lines else f"log tail: {log.strip()[-400:]!r}")

    return _wait(probe, f"previous log of {comp} contains {text!r}", lab.t("symptom"), lab.poll)


def _waiting(lab, inj, spec) -> str:
    comp, reasons = static_pod_of(inj), set(spec["reason_any"])

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

        def old_app_gone() -> Observation:
            # the deployment object too: created again while the garbage collector still holds it
            # (foreground deletion), the create conflicts and the deployment then vanishes
            left = len(lab.kube.pods(lab.namespace, f"app={lab.app_name}"))
            gone = lab.kube.deployment_gone(lab.app_name, lab.namespace)
            return Observation(not left and gone, f"{left} old app pods; deployment "
                                                  f"{'gone' if gone else 'still there (being deleted)'}")
        wait_until(old_app_gone, "old app deployment and pods gone", lab.t("scale"))
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
            st, bound = probes.pod_state(p), probes.pod_bound(p)
            ok &= st["phase"] == "Pending" and not bound.ok and st["scheduled"] != "True"
            lines.append(bound.text())
        return Observation(ok, "; ".join(lines))

    wait_until(pending, "a pod Pending", lab.t("symptom"), interval=lab.poll)
    return hold(pending, "pod stays Pending with no node", lab.hold_for(spec), interval=lab.poll).text()


def _scale_stuck(lab, inj, spec) -> str:
    base, _, _ = lab.app_ready_replicas()
    target = spec.get("replicas") or base + spec.get("add", 1)
    inj.context.setdefault("app_base", base)
    inj.context["scale_target"] = target
    # "Scaling creates no pod": the pods listed before the scale (a pod of an earlier scale-down may
    # still be terminating) are not counted; any other pod of the app is a reaction.
    before = {p.metadata.uid for p in lab.kube.pods(lab.namespace, f"app={lab.app_name}")}
    lab.kube.scale(lab.app_name, target, lab.namespace)

    def stuck() -> Observation:
        d = lab.kube.deployment(lab.app_name, lab.namespace)
        pods = lab.kube.pods(lab.namespace, f"app={lab.app_name}")
        new = [p.metadata.name for p in pods if p.metadata.uid not in before]
        seen = (f"deployment {lab.app_name}: spec.replicas={d.spec.replicas} status.replicas={d.status.replicas or 0} "
                f"ready={d.status.ready_replicas or 0}; pods {len(pods)}, created since the scale: {new or 'none'}")
        return Observation(d.spec.replicas == target and not new, seen)

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
    name = spec.get("container") or static_pod_of(inj)
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


def _fresh_probe(kubeconfig, write: bool, seq: int) -> Observation:
    """One request (or a write) through the kubeconfig's endpoint on a new connection: a kept-alive
    connection would stay on one API server behind the load balancer and see nothing."""
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        method, url, headers, body, post = api.param_serialize("GET", "/readyz", auth_settings=["BearerToken"])
        resp = api.call_api(method, url, headers, body, post, _request_timeout=3)
        if resp.status != 200:
            return Observation(False, f"/readyz {resp.status}")
        if write:
            core = client.CoreV1Api(api)
            name = f"breakfix-write-probe-{seq}"
            core.create_namespaced_config_map("default", client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=name, labels={"kube-breakfix/probe": "write"}),
                data={"seq": str(seq)}), _request_timeout=3)
            core.delete_namespaced_config_map(name, "default", _request_timeout=3)
            return Observation(True, "/readyz 200, ConfigMap written and deleted")
        return Observation(True, "/readyz 200")
    except Exception as exc:  # noqa: BLE001 - the failure is the observation
        return Observation(False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}")
    finally:
        api.close()


class _Monitor:
    """Probes from just before the change until `hold` seconds after it took effect, in a thread of its own:
    what happens while the kubelet is still stopping the old container (up to its grace period)
    is part of the window too."""

    def __init__(self, kubeconfig, write: bool, hold: float, lifetime: float):
        import threading
        self.kubeconfig, self.write, self.hold = kubeconfig, write, hold
        self.end = time.monotonic() + lifetime     # a fault that fails before its check stops it too
        self.rows: list[tuple[float, Observation]] = []      # (monotonic time, observation)
        self.changed_at: float | None = None
        self.thread = threading.Thread(target=self._run, name="api-monitor", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seq = 0
        while (self.changed_at is None or time.monotonic() - self.changed_at < self.hold) \
                and time.monotonic() < self.end:
            seq += 1
            start = time.monotonic()
            self.rows.append((start, _fresh_probe(self.kubeconfig, self.write, seq)))
            time.sleep(max(0.0, 0.5 - (time.monotonic() - start)))   # paced probes, not a fixed wait

    def stop(self, timeout: float = 15) -> None:
        """No more probes (the fault is being put back, or left in place unmeasured by `breakfix
        break`); waits for the probe in flight (each request times out after 3 s), so no thread is
        still inside a request when the process exits."""
        self.end = 0.0
        self.thread.join(timeout=timeout)


def stop_monitors(inj) -> None:
    """Stop every monitor Lab.inject started for INJ (idempotent)."""
    for key, mon in list(inj.context.items()):
        if key.startswith("monitor:"):
            mon.stop()


def _start_api_monitor(lab, inj, spec) -> None:
    hold = spec.get("hold") or 30
    inj.context[f"monitor:{spec['kind']}"] = _Monitor(lab.kube.kubeconfig, spec.get("write", False), hold,
                                                     hold + lab.t("took_effect") + lab.t("symptom"))


def start_monitors(lab, inj) -> None:
    """Called by Lab.inject right before the change: start what a symptom kind measures from there."""
    for spec in inj.fault.symptoms:
        starter = MONITORS.get(spec["kind"])
        if starter:
            starter(lab, inj, spec)


def _api_available(lab, inj, spec) -> str:
    """The probes of the monitor started before the change, until `hold` seconds after it took effect; the
    error window runs from the first failed probe to the first good one after the last failure.
    Fails when the window is longer than max_error_window or the API does not answer at the end."""
    limit = spec.get("max_error_window", 20)
    write = spec.get("write", False)
    mon = inj.context.get(f"monitor:{spec['kind']}")
    if mon is None:       # not started by Lab.inject (e.g. an older engine): probe from now on
        mon = _Monitor(lab.kube.kubeconfig, write, spec.get("hold") or 30, (spec.get("hold") or 30) + 1)
    if mon.changed_at is None:
        # `hold` more seconds from now, when the change has taken effect (the kubelet may take the
        # old container's whole grace period, 30 s for an API server, to stop it).
        mon.changed_at = time.monotonic()
    mon.thread.join(timeout=mon.hold + lab.t("symptom"))
    if mon.thread.is_alive():
        raise SymptomNotObserved("API available", f"the probe thread did not finish within {mon.hold:g}s + "
                                                  f"{lab.t('symptom'):.0f}s; {len(mon.rows)} probes so far")
    rows = [(t - inj.started, o) for t, o in list(mon.rows)]
    fails = [t for t, o in rows if not o.ok]
    if fails:
        after = [t for t, o in rows if o.ok and t > fails[-1]]
        err_window = (after[0] if after else rows[-1][0]) - fails[0]
    else:
        err_window = 0.0
    what = "writes" if write else "requests"
    lab.reporter.timing(f"api error window ({what} through the endpoint)", err_window, fault=inj.fault.id,
                        probes=len(rows), failed=len(fails))
    summary = (f"{len(rows)} probes from {rows[0][0]:.1f}s to {rows[-1][0]:.1f}s around the change "
               f"(negative: before it), {len(fails)} failed; error window {err_window:.1f}s (limit {limit:g}s)")
    detail = "\n".join(f"{t:+7.1f}s {'ok ' if o.ok else 'ERR'} {o.text()}" for t, o in rows
                        if not o.ok or t in (rows[0][0], rows[-1][0]))
    if not rows[-1][1].ok:
        raise SymptomNotObserved(f"API available ({what})", f"{summary}; the last probe failed: {rows[-1][1].text()}")
    if err_window > limit:
        raise SymptomNotObserved(f"API available ({what})", f"{summary}: longer than allowed")
    return summary + "\n" + detail


def _lease_moved(lab, inj, spec) -> str:
    lease = spec["lease"]
    seen = {}

    def probe() -> Observation:
        holder, obj = lease_holder(lab.kube, lease)
        seen["duration"] = obj.spec.lease_duration_seconds
        return Observation(holder is not None and holder != lab.node_name,
                           f"lease kube-system/{lease}: holder {obj.spec.holder_identity}, "
                           f"duration {obj.spec.lease_duration_seconds}s, transitions {obj.spec.lease_transitions}")

    text = _wait(probe, f"lease {lease} held by a node other than {lab.node_name}", lab.t("symptom"), interval=0.5)
    handover = time.monotonic() - inj.started
    duration = seen.get("duration") or 0
    lab.reporter.timing(f"lease {lease} hand-over", handover, fault=inj.fault.id, lease_duration=duration)
    line = f"{text}; hand-over {handover:.1f}s after the change (lease duration {duration}s)"
    if duration and handover > spec.get("max_lease_durations", 4) * duration:
        raise SymptomNotObserved(f"lease {lease} moved", f"{line}: slower than {spec.get('max_lease_durations', 4)} "
                                                         "lease durations")
    return line


# --- the members of an HA control plane, each asked at its own address ------------------------------
APISERVER_ENDPOINT_ANNOTATION = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"
DEFAULT_APISERVER_PORT = 6443
# X.509 verify codes of a certificate that does not name the address asked (hostname, IP address).
NAME_MISMATCH_CODES = {62, 64}


@dataclass(frozen=True)
class Member:
    """A control-plane node and where its own API server listens."""
    node: str
    ip: str
    port: int

    def address(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class MemberProbe:
    """One GET of a member's /readyz: the HTTP status, or None when no HTTP answer came (no
    connection, TLS failed, timeout); `error` says why, for the evidence only."""
    member: Member
    status: int | None
    error: str | None = None

    def line(self) -> str:
        got = f"HTTP {self.status}" if self.status is not None else f"no HTTP answer ({self.error})"
        return f"{self.member.node} https://{self.member.address()}/readyz: {got}"


def control_plane_members(kube) -> list[Member]:
    """The control-plane nodes (the role label) with their InternalIP, and the port kubeadm says
    their API server advertises (the annotation of their kube-apiserver mirror pod, else 6443).
    A node without an InternalIP is left out (it cannot be asked)."""
    ports = {}
    for p in kube.pods("kube-system", "component=kube-apiserver"):
        ep = (p.metadata.annotations or {}).get(APISERVER_ENDPOINT_ANNOTATION, "")
        port = ep.rsplit(":", 1)[-1] if ":" in ep else ""
        if p.spec.node_name and port.isdigit():
            ports[p.spec.node_name] = int(port)
    out = []
    for n in kube.core.list_node(_request_timeout=30).items:
        if CONTROL_PLANE_LABEL not in (n.metadata.labels or {}):
            continue
        ips = [a.address for a in (n.status.addresses or []) if a.type == "InternalIP"]
        if ips:
            out.append(Member(n.metadata.name, ips[0], ports.get(n.metadata.name, DEFAULT_APISERVER_PORT)))
    return sorted(out, key=lambda m: m.node)


def kubeconfig_tls(kubeconfig):
    """(SSL context, headers) carrying the kubeconfig's own credentials (client certificate and key,
    or its bearer token) and its CA. Verification is always on, with the host name (an IP here)
    checked: a kubeconfig that skips verification gets the system's trust store, not less."""
    import ssl

    from kubernetes import config
    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        c = api.configuration
        ctx = ssl.create_default_context(cafile=c.ssl_ca_cert or None)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if c.cert_file:
            ctx.load_cert_chain(c.cert_file, c.key_file)
        token = (c.api_key or {}).get("BearerToken") or (c.api_key or {}).get("authorization")
        headers = {"Authorization": token} if token else {}
        return ctx, headers
    finally:
        api.close()


def member_readyz(member: Member, ctx, headers: dict, timeout: float = 3.0) -> MemberProbe:
    """GET /readyz on the member's own address, TLS verified against that address."""
    import http.client
    import ssl
    conn = http.client.HTTPSConnection(member.ip, member.port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", "/readyz", headers=headers)
        resp = conn.getresponse()
        resp.read(256)
        return MemberProbe(member, resp.status)
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code in NAME_MISMATCH_CODES:
            why = (f"TLS: the serving certificate does not carry {member.ip} (X.509 verify code "
                   f"{exc.verify_code}); verification stays on")
        else:
            why = f"TLS verify failed (X.509 verify code {exc.verify_code})"
        return MemberProbe(member, None, why)
    except ssl.SSLError as exc:
        return MemberProbe(member, None, f"TLS: {type(exc).__name__} {exc.reason or ''}".strip())
    except OSError as exc:       # refused, unreachable, timed out
        return MemberProbe(member, None, f"no connection: {type(exc).__name__}")
    except http.client.HTTPException as exc:
        return MemberProbe(member, None, f"no HTTP answer: {type(exc).__name__}")
    finally:
        conn.close()


def members_verdict(endpoint_ready: bool, endpoint_seen: str, probes: list[MemberProbe]) -> Observation:
    """Shown when every member answered HTTP 200 and the cluster endpoint is not ready. Decided
    from the statuses alone; a probe that did not run (status None) is not ready."""
    lines = [f"cluster endpoint: {'ready' if endpoint_ready else 'not ready'} ({endpoint_seen})"]
    lines += [p.line() for p in probes]
    ready = [p for p in probes if p.status == 200]
    lines.append(f"{len(ready)} of {len(probes)} members HTTP 200")
    ok = bool(probes) and len(ready) == len(probes) and not endpoint_ready
    return Observation(ok, "\n".join(lines))


def _start_members_read(lab, inj, spec) -> None:
    """Before the change (the API still answers): which members to ask, and where."""
    try:
        inj.context["members"] = control_plane_members(lab.kube)
    except Exception as exc:  # noqa: BLE001 - said by the check; the change is not held up by it
        inj.context["members"] = f"reading the control-plane nodes failed: {_exc_text(exc)}"


def _exc_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def _members_ready(lab, inj, spec) -> str:
    """Every control-plane member's own API server answers /readyz 200 while the cluster endpoint
    does not; waits (short polls, a deadline) for all of them in one round."""
    members = inj.context.get("members")
    if members is None:      # not started by Lab.inject: read them now (fails when the API is down)
        _start_members_read(lab, inj, spec)
        members = inj.context["members"]
    what = "every control-plane member ready at its own address, the cluster endpoint not"
    if isinstance(members, str):
        raise SymptomNotObserved(what, members)
    if not members:
        raise SymptomNotObserved(what, "the API listed no control-plane node with an InternalIP before the change "
                                       f"(label {CONTROL_PLANE_LABEL}): "
                                       "nothing to ask, which proves nothing")
    try:
        ctx, headers = kubeconfig_tls(lab.kube.kubeconfig)
    except Exception as exc:  # noqa: BLE001 - without the kubeconfig's credentials nobody can be asked
        raise SymptomNotObserved(what, f"the kubeconfig's credentials and CA could not be loaded: {_exc_text(exc)}") \
            from None
    last = {"obs": Observation(False, "no round of probes finished")}

    def probe() -> Observation:
        ready, seen = lab.kube.readyz()
        last["obs"] = members_verdict(ready, seen, [member_readyz(m, ctx, headers) for m in members])
        return last["obs"]

    deadline = lab.t("symptom")
    try:
        return wait_until(probe, what, deadline, interval=lab.poll).text()
    except WaitTimeout:     # its own last state is cut short: name every member's in full
        raise SymptomNotObserved(what, f"not seen within {deadline:.0f}s; the last state per member:\n"
                                       f"{last['obs'].text()}") from None


# --- symptoms of the cluster's add-ons and certificates: structured facts only ----------------------
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
    ref = spec["workload"]
    reasons = set(spec.get("reason_any") or BACKOFF_REASONS | {"CrashLoopBackOff"})

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

    return _wait(probe, f"pods of {ref} started after the change failing with {sorted(reasons)}", lab.t("symptom"),
                 max(lab.poll, 1.0))


def http_status(lab, ip: str, port: int, path: str = "/healthz", node=None) -> int | None:
    """probes.http_status from NODE (default: the lab's)."""
    return probes.http_status(node or lab.node, ip, port, path)


def proxy_down_node(lab, ref: str) -> tuple[Observation, str | None]:
    """A node of the cluster on which no pod of the workload runs, which the lab can reach; the
    target node first. A node-local workload (a DaemonSet such as kube-proxy) breaks per node: a
    rolling update stops after its first broken pod, so the old pods keep running on the other
    nodes. Returns the observation and that node's name (or None)."""
    sel = ",".join(f"{k}={v}" for k, v in workload_status(lab.kube, ref)["selector"].items())
    # node -> pod name -> a container running; a node with no pod at all runs no proxy either (a
    # nodeSelector that matches no node deletes every pod)
    by_node: dict[str, dict[str, bool]] = {n: {} for n in lab.kube.node_names()}
    for p in lab.kube.pods(ref.split("/")[1], sel):
        if p.spec.node_name:
            by_node.setdefault(p.spec.node_name, {})[p.metadata.name] = any(
                c.state and c.state.running for c in p.status.container_statuses or [])
    down = sorted((n for n, pods in by_node.items() if not any(pods.values())), key=lambda n: n != lab.node_name)
    reachable = [n for n in down if lab.node_at(n) is not None]
    seen = "; ".join(f"{n}: " + (", ".join(f"{pod} {'running' if up else 'not running'}" for pod, up in pods.items())
                                 or "no pod") for n, pods in sorted(by_node.items())) or "no nodes listed"
    return (Observation(bool(reachable), f"pods of {ref} by node: {seen}; no pod running on: {down or 'none'}"
                        + ("" if reachable or not down else " (not reachable by name from here)")),
            reachable[0] if reachable else None)


def _service_unreachable(lab, inj, spec) -> str:
    """A fresh ClusterIP Service in front of `app`: from the node, GET `path` on an app pod's IP answers
    HTTP 200 while the same request through the Service's ClusterIP does not (another status, or no
    HTTP answer), `streak` times in a row. A bare TCP connect proves nothing here: a network may answer
    every connect (an egress proxy). With `workload` (the proxy), the probe runs from a node where no
    pod of it runs, and the Service is created after that was seen (a pod still terminating there
    would program it)."""
    port = spec.get("port", 8080)
    node_name = lab.node_name
    if spec.get("workload"):
        ref = spec["workload"]
        found: dict = {}

        def proxy_down() -> Observation:
            obs, found["node"] = proxy_down_node(lab, ref)
            return obs
        seen = _wait(proxy_down, f"a node where no pod of {ref} runs", lab.t("symptom"), max(lab.poll, 1.0))
        node_name = found["node"]
        lab.reporter.attach(f"no pod of {ref} running on {node_name}", seen)
    node = lab.node_at(node_name)
    name = lab.kube.create_probe_service({"app": lab.app_name}, port, lab.namespace)
    inj.context.setdefault("probe_services", []).append(name)
    streak = {"n": 0}

    def probe() -> Observation:
        ip = lab.kube.service(name, lab.namespace).spec.cluster_ip
        pods = sorted((p for p in lab.kube.pods(lab.namespace, f"app={lab.app_name}") if p.status.pod_ip
                       and p.status.phase == "Running"), key=lambda p: p.spec.node_name != node_name)
        if not ip or not pods:
            streak["n"] = 0
            return Observation(False, f"service {name} clusterIP {ip}, running app pods {len(pods)}")
        path = spec.get("path", "/healthz")
        pod_st = http_status(lab, pods[0].status.pod_ip, port, path, node=node)
        svc_st = http_status(lab, ip, port, path, node=node)
        if pod_st == 200 and svc_st is not None and svc_st != 200:
            streak["n"] += 1
        elif pod_st is not None and svc_st is not None:
            streak["n"] = 0
        return Observation(streak["n"] >= spec.get("streak", 3),
                           f"from {node_name}: GET {path}: pod {pods[0].status.pod_ip}:{port} HTTP {pod_st}; "
                           f"service {name} {ip}:{port} HTTP {svc_st} (0: no HTTP answer, None: probe did not run); "
                           f"in a row: {streak['n']}")

    return _wait(probe, f"fresh service {name} unreachable from {node_name} while app pods answer",
                 lab.t("symptom"), max(lab.poll, 1.0))


def dns_over_tcp(lab, server: str, name: str) -> tuple[str, dict]:
    """probes.dns_over_tcp from the lab's node."""
    return probes.dns_over_tcp(lab.node, server, name)


def _dns_unanswered(lab, inj, spec) -> str:
    """From the node, DNS over TCP to the kube-dns Service's ClusterIP gets no answer (no connect,
    or nothing back) `streak` times in a row. An answer of any kind resets the streak; a probe that
    did not run proves nothing."""
    name = spec.get("name", "kubernetes.default.svc.cluster.local")
    svc = lab.kube.service("kube-dns", "kube-system")
    server = svc.spec.cluster_ip
    streak = {"n": 0}

    def probe() -> Observation:
        outcome, hdr = dns_over_tcp(lab, server, name)
        if outcome in ("no-connect", "no-answer"):
            streak["n"] += 1
        elif outcome == "answered":
            streak["n"] = 0
        return Observation(streak["n"] >= spec.get("streak", 3),
                           f"DNS over TCP to {server}:53 for {name}: {outcome} {hdr}; in a row: {streak['n']}")

    return _wait(probe, f"DNS at {server} unanswered", lab.t("symptom"), max(lab.poll, 1.0))


def tls_verify(kubeconfig) -> tuple[str, int | None]:
    """A TLS handshake with the cluster endpoint, verified with the kubeconfig's CA: ("ok", None),
    ("verify", the X.509 verify code), or ("other", None) when it failed for another reason."""
    import socket
    import ssl

    host, port, ca = endpoint(kubeconfig)
    ctx = ssl.create_default_context(cadata=ca.decode() if ca else None)
    ctx.check_hostname = False
    try:
        with socket.create_connection((host, port), timeout=3) as s, ctx.wrap_socket(s, server_hostname=host):
            return "ok", None
    except ssl.SSLCertVerificationError as exc:
        return "verify", exc.verify_code
    except OSError:
        return "other", None


def _tls_verify_error(lab, inj, spec) -> str:
    codes = set(spec.get("code_any") or [10])     # 10: X509_V_ERR_CERT_HAS_EXPIRED

    def probe() -> Observation:
        outcome, code = tls_verify(lab.kube.kubeconfig)
        return Observation(outcome == "verify" and code in codes,
                           f"TLS handshake with the cluster endpoint, verified with the cluster CA: {outcome}"
                           + (f", X.509 verify code {code}" if code is not None else "") + f" (want {sorted(codes)})")

    return _wait(probe, f"TLS verify error {sorted(codes)} from the cluster endpoint", lab.t("symptom"), lab.poll)


def _api_status(lab, inj, spec) -> str:
    """Requests with the kubeconfig's own credentials get one of the HTTP statuses, `streak` in a row."""
    statuses, path = set(spec["status_any"]), spec.get("path", "/api")
    streak = {"n": 0}

    def probe() -> Observation:
        try:
            method, url, headers, body, post = lab.kube.api_client.param_serialize("GET", path,
                                                                                   auth_settings=["BearerToken"])
            resp = lab.kube.api_client.call_api(method, url, headers, body, post, _request_timeout=5)
            status = resp.status
        except Exception as exc:  # noqa: BLE001 - no HTTP status: no observation
            streak["n"] = 0
            return Observation(False, f"GET {path}: no HTTP answer ({type(exc).__name__})")
        streak["n"] = streak["n"] + 1 if status in statuses else 0
        return Observation(streak["n"] >= spec.get("streak", 3), f"GET {path}: HTTP {status}; in a row: {streak['n']}")

    return _wait(probe, f"GET {path} answered {sorted(statuses)}", lab.t("symptom"), lab.poll)


def _pod_events(lab, inj, spec) -> str:
    """Events with one of the reasons, since the change, on a fresh probe pod placed on the target node
    that does not reach Running (`object: probe`), or on the component's mirror pod (`object: component`)."""
    import datetime as dt
    reasons = set(spec["reason_any"])
    obj = spec.get("object", "probe")
    if obj == "probe":       # on the node the fault broke: elsewhere a pod proves nothing about it
        name, ns = lab.kube.create_probe_pod(lab.probe_image, lab.namespace, node=lab.node_name), lab.namespace
        inj.context.setdefault("probe_pods", []).append(name)
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

    return _wait(probe, f"{sorted(reasons)} events on {name}", lab.t("symptom"), max(lab.poll, 1.0))


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
    "api_available": _api_available,
    "members_ready": _members_ready,
    "lease_moved": _lease_moved,
    "workload_failing": _workload_failing,
    "service_unreachable": _service_unreachable,
    "dns_unanswered": _dns_unanswered,
    "tls_verify_error": _tls_verify_error,
    "api_status": _api_status,
    "pod_events": _pod_events,
}
# Symptom kinds that measure from just before the change (started by Lab.inject).
MONITORS: dict[str, Callable] = {
    "api_available": _start_api_monitor,
    "members_ready": _start_members_read,
}
assert set(CHECKS) == set(SYMPTOM_KINDS), "every declared symptom kind needs a check"


def check(lab, inj, spec: dict) -> str:
    return CHECKS[spec["kind"]](lab, inj, spec)


def describe_events(kube, name: str, namespace: str) -> str:
    rows = [f"{event_time(e)} {e.type} {e.reason}: {e.message}" for e in kube.events_for(name, namespace)]
    return "\n".join(rows[-30:]) or "(no events)"
