"""Functional probes: each component judged by whether it does its job, not by its pod's Ready
condition. The grader (`breakfix check`), the suite's verify step and the symptoms call these.

  kube-apiserver           a probe object is written, read back and seen by a watch; /readyz?verbose
  storage (API <-> etcd)   /readyz/etcd answers ok
  etcd                     the member answers `etcdctl endpoint health` on the node, at its own URL
  kube-scheduler           a probe pod gets bound to a node
  pod-start (kubelet)      the probe pod's container starts; its logs are served; its DNS server is
                           the cluster DNS Service; the node's static pods are mirrored in the API
  kube-controller-manager  a probe Deployment gets its ReplicaSet and pod, a scale by one adds a pod,
                           a probe Service gets its EndpointSlice, deleting the Deployment
                           garbage-collects its ReplicaSet and pods
  network                  the probe pod gets an IP; the `kubernetes` Service's ClusterIP answers from
                           the node; kubernetes.default resolves at the cluster DNS Service

Every object the probes create carries PROBE_LABEL, lives in PROBE_NAMESPACE and is deleted
afterwards (`created` lists them). A probe's status is pass, fail, skip (not reached: an earlier
step of the same probe failed, which is the failure that counts) or error (the probe could not
run for reasons of its own: the grader's credentials may not create objects, the node could not
be asked). Only pass and fail are evidence."""
from __future__ import annotations

import base64
import contextlib
import json
import secrets
import shlex
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import urlsplit

import yaml

from .shapes import lease_holder
from .waits import Observation

PROBE_NAMESPACE = "kube-breakfix-probes"
PROBE_LABEL = {"app.kubernetes.io/managed-by": "kube-breakfix", "kube-breakfix/probe": "true"}
PROBE_SELECTOR = "kube-breakfix/probe=true"
REQUEST_TIMEOUT = 10
POLL = 0.25


@dataclass
class Probe:
    part: str        # the part of the cluster judged (grading.diagnosis.DEPENDS)
    name: str        # api-write, pod-bound, deployment-scale, ...
    status: str      # pass | fail | skip | error
    seen: str        # what was observed last
    seconds: float = 0.0
    source: str = "api"   # api | node

    @property
    def evidence(self) -> bool:
        return self.status in ("pass", "fail")

    def to_dict(self) -> dict:
        return {"part": self.part, "name": self.name, "status": self.status, "seen": self.seen,
                "seconds": round(self.seconds, 2), "source": self.source}


TITLES = {
    "api-write": "a probe object is written, read back and seen by a watch",
    "api-readyz": "/readyz answers ok",
    "etcd-from-api": "the API server reaches etcd (/readyz/etcd)",
    "etcd-member": "the etcd member is healthy on the node",
    "pod-bound": "a probe pod is bound to a node",
    "pod-started": "the probe pod's container starts",
    "pod-logs": "the kubelet serves the probe pod's logs",
    "pod-dns": "the probe pod's DNS server is the cluster DNS Service",
    "static-pods-mirrored": "the node's static pods are mirrored in the API",
    "deployment-replicaset": "a probe Deployment gets its ReplicaSet and pod",
    "deployment-scale": "scaling the probe Deployment by one adds a pod",
    "service-endpointslice": "a probe Service gets its EndpointSlice",
    "garbage-collection": "deleting the probe Deployment removes its ReplicaSet and pods",
    "pod-ip": "the probe pod gets an IP",
    "service-clusterip": "the kubernetes Service's ClusterIP answers from the node",
    "dns-resolves": "kubernetes.default resolves at the cluster DNS Service",
}
PARTS = {
    "api-write": "kube-apiserver", "api-readyz": "kube-apiserver", "etcd-from-api": "storage",
    "etcd-member": "etcd", "pod-bound": "kube-scheduler", "pod-started": "pod-start", "pod-logs": "pod-start",
    "pod-dns": "kubelet", "static-pods-mirrored": "kubelet",
    "deployment-replicaset": "kube-controller-manager", "deployment-scale": "kube-controller-manager",
    "service-endpointslice": "kube-controller-manager", "garbage-collection": "kube-controller-manager",
    "pod-ip": "network", "service-clusterip": "network", "dns-resolves": "network",
}


def _probe(name: str, status: str, seen: str, t0: float, source: str = "api") -> Probe:
    return Probe(PARTS[name], name, status, seen, time.monotonic() - t0, source)


def _exc(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status:
        body = getattr(exc, "body", "") or ""
        try:
            msg = json.loads(body).get("message", "") if body else ""
        except (ValueError, AttributeError):
            msg = str(body)[:200]
        return f"HTTP {status} {getattr(exc, 'reason', '')}" + (f": {msg[:300]}" if msg else "")
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[-300:]}"


def own_problem(exc: BaseException) -> bool:
    """An API answer that says the grader's own credentials may not do what a probe asks (401, 403):
    the probe could not run, which proves nothing about the cluster."""
    return getattr(exc, "status", None) in (401, 403)


def _until(check: Callable[[], Observation], deadline: float) -> Observation:
    """Poll CHECK until ok or DEADLINE (monotonic) passes; an exception is an observation."""
    last = Observation(False, "nothing observed yet")
    while True:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - the failure is what was seen
            last = Observation(False, _exc(exc))
        if last.ok or time.monotonic() >= deadline:
            return last
        time.sleep(min(POLL, max(deadline - time.monotonic(), 0)))


# --- raw requests ---------------------------------------------------------------------------------
def get_raw(kube, path: str, timeout: float = 5) -> tuple[int, str]:
    """GET PATH on the API server: (HTTP status, body). Raises on no answer."""
    api = kube.api_client
    method, url, headers, body, post = api.param_serialize("GET", path, auth_settings=["BearerToken"])
    resp = api.call_api(method, url, headers, body, post, _request_timeout=timeout)
    data = resp.read()
    return resp.status, data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")


def readyz_checks(body: str) -> dict[str, bool]:
    """/readyz?verbose as {check name: ok}: the lines `[+]etcd ok` and `[-]etcd failed: ...`."""
    out = {}
    for line in body.splitlines():
        line = line.strip()
        if line[:3] in ("[+]", "[-]"):
            out[line[3:].split(" ", 1)[0]] = line.startswith("[+]")
    return out


def api_readyz(kube) -> Probe:
    t0 = time.monotonic()
    try:
        status, body = get_raw(kube, "/readyz?verbose")
    except Exception as exc:  # noqa: BLE001 - no answer is the observation
        return _probe("api-readyz", "fail", f"/readyz: no answer: {_exc(exc)}", t0)
    failed = [k for k, ok in readyz_checks(body).items() if not ok]
    if status == 200:
        return _probe("api-readyz", "pass", "/readyz 200", t0)
    if status in (401, 403):
        return _probe("api-readyz", "error", f"/readyz {status}: the grader may not read it", t0)
    return _probe("api-readyz", "fail", f"/readyz {status}; failed checks: {', '.join(failed) or 'none named'}", t0)


def api_reports_etcd_down(kube) -> bool:
    """Whether the API server answers /readyz?verbose and names its etcd check failed: the API
    server itself says etcd is gone (no answer, or any other failure, is not that)."""
    try:
        status, body = get_raw(kube, "/readyz?verbose")
    except Exception:  # noqa: BLE001 - no answer says nothing about etcd
        return False
    return status != 200 and readyz_checks(body).get("etcd") is False


def etcd_from_api(kube) -> Probe:
    t0 = time.monotonic()
    try:
        status, body = get_raw(kube, "/readyz/etcd")
    except Exception as exc:  # noqa: BLE001
        return _probe("etcd-from-api", "fail", f"/readyz/etcd: no answer: {_exc(exc)}", t0)
    if status in (401, 403):
        return _probe("etcd-from-api", "error", f"/readyz/etcd {status}: the grader may not read it", t0)
    return _probe("etcd-from-api", "pass" if status == 200 else "fail",
                  f"/readyz/etcd {status}: {' '.join(body.split())[:200]}", t0)


def node_readyz(node) -> Observation | None:
    """/readyz asked on the node itself (kubectl with the node's admin.conf at 127.0.0.1): whether the
    API server answers there. None when the node could not be asked (no kubectl, no admin.conf)."""
    port = 6443
    r = node.run("test -r /etc/kubernetes/admin.conf && command -v kubectl >/dev/null && "
                 "kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=5s "
                 f"--server=https://127.0.0.1:{port} get --raw=/readyz", timeout=20)
    if r.rc == 1 and not r.stdout.strip() and not r.stderr.strip():
        return None
    if r.rc == 0:
        return Observation(True, f"on the node: /readyz {r.stdout.strip()[:40]}")
    if not r.stderr.strip():
        return None
    return Observation(False, f"on the node: /readyz: {' '.join(r.stderr.split())[:200]}")


# --- the API server: write, read back, watch --------------------------------------------------------
def ensure_namespace(kube, created: list[str]) -> None:
    """PROBE_NAMESPACE and its default ServiceAccount (pods need it; the controller manager that
    would make it may be the component under test). Kept between runs: a namespace is deleted by
    the controller manager, and a broken one would leave it Terminating for the next check."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    try:
        kube.core.read_namespace(PROBE_NAMESPACE, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status != 404:
            raise
        kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=PROBE_NAMESPACE, labels=dict(PROBE_LABEL))), _request_timeout=REQUEST_TIMEOUT)
        created.append(f"namespace/{PROBE_NAMESPACE}")
    try:
        kube.core.read_namespaced_service_account("default", PROBE_NAMESPACE, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status != 404:
            raise
        with contextlib.suppress(ApiException):   # 409: the controller made it meanwhile
            kube.core.create_namespaced_service_account(PROBE_NAMESPACE, client.V1ServiceAccount(
                metadata=client.V1ObjectMeta(name="default")), _request_timeout=REQUEST_TIMEOUT)


def api_write(kube, created: list[str], timeout: float = 10) -> Probe:
    """A ConfigMap written, read back with the same data, and its ADDED event seen by a watch that
    started before the write (the API server's watch cache serves it)."""
    from kubernetes import client, watch
    t0 = time.monotonic()
    name = f"breakfix-probe-{secrets.token_hex(3)}"
    token = secrets.token_hex(8)
    try:
        listed = kube.core.list_namespaced_config_map(PROBE_NAMESPACE, label_selector=PROBE_SELECTOR,
                                                      _request_timeout=REQUEST_TIMEOUT)
        kube.core.create_namespaced_config_map(PROBE_NAMESPACE, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, labels=dict(PROBE_LABEL)), data={"token": token}),
            _request_timeout=REQUEST_TIMEOUT)
        created.append(f"configmap/{PROBE_NAMESPACE}/{name}")
    except Exception as exc:  # noqa: BLE001
        return _probe("api-write", "error" if own_problem(exc) else "fail", f"write: {_exc(exc)}", t0)
    try:
        back = kube.core.read_namespaced_config_map(name, PROBE_NAMESPACE, _request_timeout=REQUEST_TIMEOUT)
        if (back.data or {}).get("token") != token:
            return _probe("api-write", "fail", f"read back configmap {name}: data {back.data!r} is not what "
                                               f"was written", t0)
        w = watch.Watch()
        seen = None
        for ev in w.stream(kube.core.list_namespaced_config_map, PROBE_NAMESPACE, label_selector=PROBE_SELECTOR,
                           resource_version=listed.metadata.resource_version,
                           timeout_seconds=max(int(timeout), 1), _request_timeout=timeout + 5):
            obj = ev.get("object")
            if ev.get("type") == "ADDED" and getattr(getattr(obj, "metadata", None), "name", None) == name:
                seen = ev
                w.stop()
                break
        if seen is None:
            return _probe("api-write", "fail", f"configmap {name} written and read back; no watch event for it "
                                               f"within {timeout:.0f}s", t0)
        return _probe("api-write", "pass", f"configmap {name} written, read back and seen by a watch", t0)
    except Exception as exc:  # noqa: BLE001
        return _probe("api-write", "fail", f"configmap {name} written; then: {_exc(exc)}", t0)
    finally:
        with contextlib.suppress(Exception):
            kube.core.delete_namespaced_config_map(name, PROBE_NAMESPACE, _request_timeout=REQUEST_TIMEOUT)


# --- etcd on the node ------------------------------------------------------------------------------
def _running_container(node, name: str) -> tuple[str | None, dict]:
    """The running container called NAME on the node: (id, crictl's inspect of it), or (None, {})."""
    r = node.crictl(f"ps --state running --name {shlex.quote('^' + name + '$')} -o json")
    if not r.ok:
        return None, {}
    items = sorted(json.loads(r.stdout or "{}").get("containers") or [], key=lambda c: int(c.get("createdAt", 0)))
    if not items:
        return None, {}
    cid = items[-1]["id"]
    ins = node.crictl(f"inspect {shlex.quote(cid)}")
    return cid, (json.loads(ins.stdout or "{}") if ins.ok else {})


def container_args(inspect: dict) -> list[str]:
    """The command line a container runs, from crictl inspect (the runtime spec)."""
    info = inspect.get("info") or {}
    return list(((info.get("runtimeSpec") or {}).get("process") or {}).get("args") or
                (info.get("config") or {}).get("args") or [])


def flag_value(args: list[str], flag: str) -> str | None:
    for a in args:
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def etcd_member(node) -> Probe:
    """`etcdctl endpoint health` in the running etcd container, at the first URL it listens on for
    clients, with the health-check client certificate kubeadm made for this."""
    t0 = time.monotonic()
    try:
        cid, ins = _running_container(node, "etcd")
    except Exception as exc:  # noqa: BLE001
        return _probe("etcd-member", "error", f"crictl: {_exc(exc)}", t0, "node")
    if cid is None:
        return _probe("etcd-member", "fail", "no running etcd container on the node", t0, "node")
    args = container_args(ins)
    urls = (flag_value(args, "--listen-client-urls") or "https://127.0.0.1:2379").split(",")
    pki = (flag_value(args, "--trusted-ca-file") or "/etc/kubernetes/pki/etcd/ca.crt").rsplit("/", 1)[0]
    cmd = (f"exec {shlex.quote(cid)} etcdctl --endpoints={shlex.quote(urls[0])} --dial-timeout=3s "
           f"--command-timeout=5s --cacert={pki}/ca.crt --cert={pki}/healthcheck-client.crt "
           f"--key={pki}/healthcheck-client.key endpoint health -w json")
    r = node.crictl(cmd)
    try:
        rows = json.loads(r.stdout or "[]")
    except ValueError:
        rows = []
    if not rows:
        why = " ".join((r.stderr or r.stdout).split())[:300]
        return _probe("etcd-member", "fail", f"etcdctl endpoint health at {urls[0]}: {why or f'exit {r.rc}'}",
                      t0, "node")
    row = rows[0]
    ok = bool(row.get("health"))
    return _probe("etcd-member", "pass" if ok else "fail",
                  f"etcd at {row.get('endpoint', urls[0])}: health={row.get('health')}"
                  + (f" error={row.get('error')}" if row.get("error") else ""), t0, "node")


# --- a probe pod: bound, started, IP, logs, DNS -------------------------------------------------------
def pod_body(name: str, image: str, node_name: str | None = None, labels: dict | None = None):
    """A pod that only has to run, anywhere (every taint tolerated; NODE_NAME: only there, by a node
    affinity the scheduler still decides)."""
    from kubernetes import client
    placement = {}
    if node_name:
        term = client.V1NodeSelectorTerm(match_fields=[client.V1NodeSelectorRequirement(
            key="metadata.name", operator="In", values=[node_name])])
        placement["affinity"] = client.V1Affinity(node_affinity=client.V1NodeAffinity(
            required_during_scheduling_ignored_during_execution=client.V1NodeSelector(node_selector_terms=[term])))
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={**PROBE_LABEL, **(labels or {})}),
        spec=pod_spec(image, restart="Never", **placement))


def pod_spec(image: str, restart: str = "Always", **extra):
    from kubernetes import client
    return client.V1PodSpec(
        termination_grace_period_seconds=0, restart_policy=restart, automount_service_account_token=False,
        enable_service_links=False,
        tolerations=[client.V1Toleration(operator="Exists")],
        containers=[client.V1Container(name="probe", image=image, image_pull_policy="IfNotPresent")], **extra)


def pod_state(p) -> dict:
    """What a probe pod shows, as plain data."""
    conds = {c.type: c.status for c in p.status.conditions or []}
    st = (p.status.container_statuses or [None])[0]
    waiting = st.state.waiting if st and st.state else None
    return {"phase": p.status.phase, "node": p.spec.node_name, "scheduled": conds.get("PodScheduled"),
            "running": bool(st and st.state and st.state.running), "ip": p.status.pod_ip,
            "waiting": f"{waiting.reason}: {(waiting.message or '')[:200]}" if waiting else None}


def pod_bound(p) -> Observation:
    s = pod_state(p)
    return Observation(bool(s["node"]), f"pod {p.metadata.name}: node={s['node'] or '<none>'} "
                                        f"PodScheduled={s['scheduled'] or '<unset>'} phase={s['phase']}")


def pod_running(p) -> Observation:
    s = pod_state(p)
    return Observation(s["running"] and bool(s["node"]),
                       f"pod {p.metadata.name}: phase={s['phase']} node={s['node'] or '<none>'} "
                       f"running={s['running']}" + (f" waiting={s['waiting']}" if s["waiting"] else ""))


def pod_timeline(p) -> str:
    """When POD's conditions turned true, in seconds after its creation (the API's timestamps, to
    the second): where a new pod spent its time (scheduling, the kubelet's start, readiness)."""
    created = p.metadata.creation_timestamp
    marks = [f"{c.type} +{(c.last_transition_time - created).total_seconds():.0f} s"
             for c in sorted(p.status.conditions or [], key=lambda c: c.last_transition_time or created)
             if c.status == "True" and c.last_transition_time and created]
    return f"pod {p.metadata.name} created {created:%H:%M:%S}: " + (", ".join(marks) or "no condition true")


def deployment_ready(d, want: int) -> Observation:
    """A Deployment asked for WANT replicas and has WANT Ready: the app's scale answered."""
    spec, ready = d.spec.replicas or 0, d.status.ready_replicas or 0
    return Observation(spec == want and ready == want,
                       f"deployment {d.metadata.namespace}/{d.metadata.name}: spec.replicas={spec} "
                       f"replicas={d.status.replicas or 0} ready={ready} "
                       f"available={d.status.available_replicas or 0} (want {want} Ready)")


def _events(kube, name: str, namespace: str) -> str:
    with contextlib.suppress(Exception):
        evs = kube.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}",
                                              _request_timeout=REQUEST_TIMEOUT).items
        return "; ".join(f"{e.reason}: {' '.join((e.message or '').split())[:200]}" for e in evs[-3:])
    return ""


def sandbox_dns(node, pod: str, namespace: str) -> list[str] | None:
    """The DNS servers the runtime gave POD's sandbox (crictl inspectp: the kubelet's DNS config),
    or None when the node could not tell."""
    r = node.crictl(f"pods --name {shlex.quote('^' + pod + '$')} --namespace {shlex.quote(namespace)} -q")
    ids = (r.stdout or "").split() if r.ok else []
    if not ids:
        return None
    ins = node.crictl(f"inspectp {shlex.quote(ids[0])}")
    if not ins.ok:
        return None
    cfg = ((json.loads(ins.stdout or "{}").get("info") or {}).get("config") or {})
    dns = cfg.get("dns_config") or cfg.get("dnsConfig") or {}
    return list(dns.get("servers") or [])


def pod_probes(kube, node, image: str, timeout: float, created: list[str], node_name: str | None = None) -> list[Probe]:
    """One probe pod: bound (the scheduler), started (the kubelet), an IP (the network plugin), its
    logs served (the kubelet's API for the API server), its DNS server the cluster DNS Service.
    Each step waits up to TIMEOUT seconds of its own."""
    t0 = time.monotonic()
    name = f"breakfix-probe-{secrets.token_hex(3)}"
    out: list[Probe] = []
    try:
        kube.core.create_namespaced_pod(PROBE_NAMESPACE, pod_body(name, image, node_name),
                                        _request_timeout=REQUEST_TIMEOUT)
        created.append(f"pod/{PROBE_NAMESPACE}/{name}")
    except Exception as exc:  # noqa: BLE001
        status = "error" if own_problem(exc) else "fail"
        return [_probe("pod-bound", status, f"create pod {name}: {_exc(exc)}", t0)]
    try:
        def read():
            return kube.core.read_namespaced_pod(name, PROBE_NAMESPACE, _request_timeout=REQUEST_TIMEOUT)
        obs = _until(lambda: pod_bound(read()), time.monotonic() + timeout)
        if not obs.ok:
            ev = _events(kube, name, PROBE_NAMESPACE)
            return [_probe("pod-bound", "fail", obs.text() + (f"; events: {ev}" if ev else
                                                               "; no events (no scheduler looked at it)"), t0)]
        out.append(_probe("pod-bound", "pass", obs.text(), t0))
        t1 = time.monotonic()
        obs = _until(lambda: pod_running(read()), time.monotonic() + timeout)
        if not obs.ok:
            ev = _events(kube, name, PROBE_NAMESPACE)
            out.append(_probe("pod-started", "fail", obs.text() + (f"; events: {ev}" if ev else ""), t1))
            for n in ("pod-ip", "pod-logs", "pod-dns"):
                out.append(_probe(n, "skip", "not reached: the pod's container did not start", t1))
            return out
        out.append(_probe("pod-started", "pass", obs.text(), t1))
        p = read()
        out.append(_probe("pod-ip", "pass" if p.status.pod_ip else "fail",
                          f"pod {name}: podIP={p.status.pod_ip or '<none>'}", t1))
        t2 = time.monotonic()
        try:
            kube.core.read_namespaced_pod_log(name, PROBE_NAMESPACE, tail_lines=1, _request_timeout=REQUEST_TIMEOUT)
            out.append(_probe("pod-logs", "pass", f"pod {name}: logs served by the kubelet", t2))
        except Exception as exc:  # noqa: BLE001
            out.append(_probe("pod-logs", "error" if getattr(exc, "status", None) == 403 else "fail",
                              f"pod {name}: logs: {_exc(exc)}", t2))
        out.append(pod_dns(kube, node, name, p.spec.node_name, node_name))
        return out
    finally:
        with contextlib.suppress(Exception):
            kube.core.delete_namespaced_pod(name, PROBE_NAMESPACE, grace_period_seconds=0,
                                            _request_timeout=REQUEST_TIMEOUT)


def pod_dns(kube, node, pod: str, ran_on: str | None, graded_node: str | None) -> Probe:
    t0 = time.monotonic()
    if node is None or (graded_node and ran_on != graded_node):
        return _probe("pod-dns", "skip", f"pod {pod} ran on {ran_on}, not on the graded node", t0, "node")
    try:
        want = kube.core.read_namespaced_service("kube-dns", "kube-system",
                                                 _request_timeout=REQUEST_TIMEOUT).spec.cluster_ip
    except Exception as exc:  # noqa: BLE001
        return _probe("pod-dns", "skip", f"no kube-dns Service to compare with: {_exc(exc)}", t0, "node")
    servers = sandbox_dns(node, pod, PROBE_NAMESPACE)
    if servers is None:
        return _probe("pod-dns", "error", f"crictl could not show pod {pod}'s sandbox", t0, "node")
    return _probe("pod-dns", "pass" if want in servers else "fail",
                  f"pod {pod}: DNS servers {servers or '[]'}; the kube-dns Service is {want}", t0, "node")


# --- the controller manager: a Deployment, a scale, a Service, garbage collection --------------------------
def _owned(items, owner_uid: str) -> list:
    return [i for i in items if any(o.uid == owner_uid for o in i.metadata.owner_references or [])]


def controller_probes(kube, image: str, timeout: float, created: list[str]) -> list[Probe]:
    """Each step waits up to TIMEOUT seconds of its own: a step that failed does not use up the next's."""
    from kubernetes import client
    t0 = time.monotonic()
    name = f"breakfix-probe-{secrets.token_hex(3)}"
    sel = {"kube-breakfix/probe-deployment": name}
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=dict(PROBE_LABEL)),
        spec=client.V1DeploymentSpec(replicas=1, selector=client.V1LabelSelector(match_labels=sel),
                                     template=client.V1PodTemplateSpec(
                                         metadata=client.V1ObjectMeta(labels={**PROBE_LABEL, **sel}),
                                         spec=pod_spec(image))))
    svc_name = name
    out: list[Probe] = []
    try:
        d = kube.apps.create_namespaced_deployment(PROBE_NAMESPACE, body, _request_timeout=REQUEST_TIMEOUT)
        created.append(f"deployment/{PROBE_NAMESPACE}/{name}")
    except Exception as exc:  # noqa: BLE001
        status = "error" if own_problem(exc) else "fail"
        return [_probe("deployment-replicaset", status, f"create deployment {name}: {_exc(exc)}", t0)]
    selector = ",".join(f"{k}={v}" for k, v in sel.items())
    state: dict = {}

    def replicasets():
        return _owned(kube.apps.list_namespaced_replica_set(PROBE_NAMESPACE, label_selector=selector,
                                                            _request_timeout=REQUEST_TIMEOUT).items, d.metadata.uid)

    def pods_of(rs_uid: str):
        return [p for p in _owned(kube.core.list_namespaced_pod(PROBE_NAMESPACE, label_selector=selector,
                                                                _request_timeout=REQUEST_TIMEOUT).items, rs_uid)
                if p.metadata.deletion_timestamp is None]

    def has(n: int) -> Callable[[], Observation]:
        def check() -> Observation:
            rss = replicasets()
            if not rss:
                return Observation(False, f"deployment {name}: no ReplicaSet")
            state["rs"] = rss[0]
            pods = pods_of(rss[0].metadata.uid)
            return Observation(len(pods) >= n, f"deployment {name}: ReplicaSet {rss[0].metadata.name}, "
                                               f"{len(pods)} pod(s) of {n} wanted")
        return check

    try:
        obs = _until(has(1), time.monotonic() + timeout)
        out.append(_probe("deployment-replicaset", "pass" if obs.ok else "fail", obs.text(), t0))
        t1 = time.monotonic()
        if obs.ok:
            kube.apps.patch_namespaced_deployment_scale(name, PROBE_NAMESPACE, {"spec": {"replicas": 2}},
                                                        _request_timeout=REQUEST_TIMEOUT)
            obs = _until(has(2), time.monotonic() + timeout)
            out.append(_probe("deployment-scale", "pass" if obs.ok else "fail", "scaled to 2: " + obs.text(), t1))
        else:
            out.append(_probe("deployment-scale", "skip", "not reached: no ReplicaSet and pod to scale", t1))
        t2 = time.monotonic()
        kube.core.create_namespaced_service(PROBE_NAMESPACE, client.V1Service(
            metadata=client.V1ObjectMeta(name=svc_name, labels=dict(PROBE_LABEL)),
            spec=client.V1ServiceSpec(selector=sel, ports=[client.V1ServicePort(port=80, target_port=80)])),
            _request_timeout=REQUEST_TIMEOUT)
        created.append(f"service/{PROBE_NAMESPACE}/{svc_name}")
        disc = client.DiscoveryV1Api(kube.api_client)

        def slices() -> Observation:
            items = disc.list_namespaced_endpoint_slice(
                PROBE_NAMESPACE, label_selector=f"kubernetes.io/service-name={svc_name}",
                _request_timeout=REQUEST_TIMEOUT).items
            return Observation(bool(items), f"service {svc_name}: {len(items)} EndpointSlice(s)")
        obs = _until(slices, time.monotonic() + timeout)
        out.append(_probe("service-endpointslice", "pass" if obs.ok else "fail", obs.text(), t2))
        t3 = time.monotonic()
        rs = state.get("rs")
        kube.apps.delete_namespaced_deployment(name, PROBE_NAMESPACE, propagation_policy="Background",
                                               _request_timeout=REQUEST_TIMEOUT)
        if rs is None:
            out.append(_probe("garbage-collection", "skip", "not reached: there was no ReplicaSet to collect", t3))
        else:
            def collected() -> Observation:
                left_rs = [r for r in kube.apps.list_namespaced_replica_set(
                    PROBE_NAMESPACE, label_selector=selector, _request_timeout=REQUEST_TIMEOUT).items
                    if r.metadata.uid == rs.metadata.uid and r.metadata.deletion_timestamp is None]
                left_pods = pods_of(rs.metadata.uid)
                return Observation(not left_rs and not left_pods,
                                   f"deployment {name} deleted: ReplicaSet {rs.metadata.name} "
                                   f"{'still there' if left_rs else 'collected'}, {len(left_pods)} pod(s) left")
            obs = _until(collected, time.monotonic() + timeout)
            out.append(_probe("garbage-collection", "pass" if obs.ok else "fail", obs.text(), t3))
    except Exception as exc:  # noqa: BLE001 - the API failed mid-way: that step failed
        done = {p.name for p in out}
        nxt = next(n for n in ("deployment-replicaset", "deployment-scale", "service-endpointslice",
                               "garbage-collection") if n not in done)
        out.append(_probe(nxt, "error" if own_problem(exc) else "fail", _exc(exc), t0))
    return out


# --- the network: ClusterIP and DNS, from the node ------------------------------------------------------
def http_status(node, ip: str, port: int, path: str = "/healthz") -> int | None:
    """The HTTP status of GET PATH at IP:PORT, asked from NODE: the code, 0 when there was no HTTP
    answer (no connect, nothing back in time, not HTTP), None when the probe itself did not run (which
    proves nothing). A bare TCP connect is not enough: a network that answers every connect (an egress
    proxy) would look like a working Service."""
    script = (f"exec 3<>/dev/tcp/{ip}/{int(port)} || exit 10; "
              f"printf 'GET {path} HTTP/1.0\\r\\nHost: breakfix\\r\\n\\r\\n' >&3; timeout 3 head -c 12 <&3")
    try:
        r = node.run(f"timeout 6 bash -c {shlex.quote(script)}", timeout=20)
    except Exception:  # noqa: BLE001 - the node did not answer: no observation
        return None
    if r.rc in (10, 124) or (r.rc in (0, 1) and not r.stdout):
        return 0
    if r.rc != 0:
        return None
    parts = r.stdout.split()
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return 0


def dns_query(name: str, qid: int = 0x4B42) -> bytes:
    """A DNS query for NAME's A record, with the 2-byte length prefix of DNS over TCP."""
    q = qid.to_bytes(2, "big") + b"\x01\x00" + b"\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00\x00\x01\x00\x01"
    return len(q).to_bytes(2, "big") + q


def dns_over_tcp(node, server: str, name: str) -> tuple[str, dict]:
    """One DNS query over TCP from NODE: ("answered", header) with the answer count and rcode,
    ("no-connect", {}) when the TCP connect failed, ("no-answer", {}) when nothing came back, or
    ("unknown", {}) when the probe did not run (proves nothing)."""
    payload = "".join(f"\\x{b:02x}" for b in dns_query(name))
    script = (f"exec 3<>/dev/tcp/{server}/53 || exit 10; printf '{payload}' >&3; "
              f"timeout 3 head -c 14 <&3 | od -An -tx1 -v")
    try:
        r = node.run(f"timeout 8 bash -c {shlex.quote(script)}", timeout=20)
    except Exception:  # noqa: BLE001
        return "unknown", {}
    if r.rc == 10 or (r.rc == 1 and not r.stdout.strip()):
        return "no-connect", {}
    if r.rc != 0:
        return "unknown", {"rc": r.rc}
    raw = bytes(int(x, 16) for x in r.stdout.split())
    if len(raw) < 14:
        return "no-answer", {"bytes": len(raw)}
    hdr = raw[2:]
    if int.from_bytes(hdr[0:2], "big") != 0x4B42 or not hdr[2] & 0x80:
        return "no-answer", {"not a reply to the query": raw[:14].hex()}   # e.g. a proxy's bytes
    return "answered", {"id": int.from_bytes(hdr[0:2], "big"), "rcode": hdr[3] & 0x0F,
                        "answers": int.from_bytes(hdr[6:8], "big")}


def service_clusterip(kube, node, deadline: float) -> Probe:
    """The `kubernetes` Service's ClusterIP:443 gives an HTTP answer from the node (plain HTTP to its
    TLS port: any status proves that kube-proxy's rules reach the API server)."""
    t0 = time.monotonic()
    try:
        svc = kube.core.read_namespaced_service("kubernetes", "default", _request_timeout=REQUEST_TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        return _probe("service-clusterip", "skip", f"service default/kubernetes not read: {_exc(exc)}", t0, "node")
    ip = svc.spec.cluster_ip
    seen = {}

    def check() -> Observation:
        seen["st"] = http_status(node, ip, 443, "/readyz")
        return Observation(bool(seen["st"]), f"from the node: {ip}:443 HTTP {seen['st']} (0: no HTTP answer)")
    obs = _until(check, min(deadline, time.monotonic() + 10))
    if seen.get("st") is None:
        return _probe("service-clusterip", "error", f"from the node: {ip}:443: the probe did not run", t0, "node")
    return _probe("service-clusterip", "pass" if obs.ok else "fail", obs.text(), t0, "node")


def dns_resolves(kube, node, deadline: float, name: str = "kubernetes.default.svc.cluster.local") -> Probe:
    t0 = time.monotonic()
    try:
        server = kube.core.read_namespaced_service("kube-dns", "kube-system",
                                                   _request_timeout=REQUEST_TIMEOUT).spec.cluster_ip
    except Exception as exc:  # noqa: BLE001
        return _probe("dns-resolves", "skip", f"service kube-system/kube-dns not read: {_exc(exc)}", t0, "node")
    seen: dict = {}

    def check() -> Observation:
        seen["out"], hdr = dns_over_tcp(node, server, name)
        ok = seen["out"] == "answered" and hdr.get("rcode") == 0 and hdr.get("answers", 0) > 0
        return Observation(ok, f"from the node: DNS over TCP to {server}:53 for {name}: {seen['out']} {hdr}")
    obs = _until(check, min(deadline, time.monotonic() + 10))
    if seen.get("out") == "unknown":
        return _probe("dns-resolves", "error", obs.text() + " (the probe did not run)", t0, "node")
    return _probe("dns-resolves", "pass" if obs.ok else "fail", obs.text(), t0, "node")


# --- static pods mirrored -----------------------------------------------------------------------------
def static_pods_mirrored(kube, node, node_name: str, deadline: float) -> Probe:
    """Every static pod the kubelet runs on the node (crictl: config source "file") has its mirror
    pod in the API."""
    t0 = time.monotonic()
    r = node.crictl("pods --state ready -o json")
    if not r.ok:
        return _probe("static-pods-mirrored", "error", f"crictl pods: {(r.stderr or '').strip()[:200]}", t0, "node")
    local = sorted({f"{i['metadata']['namespace']}/{i['metadata']['name']}"
                    for i in json.loads(r.stdout or "{}").get("items") or []
                    if (i.get("annotations") or {}).get("kubernetes.io/config.source") == "file"})
    if not local:
        return _probe("static-pods-mirrored", "skip", "the kubelet runs no static pod on this node", t0, "node")

    def check() -> Observation:
        api = {f"{p.metadata.namespace}/{p.metadata.name}" for p in kube.core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node_name}", _request_timeout=REQUEST_TIMEOUT).items
            if "kubernetes.io/config.mirror" in (p.metadata.annotations or {})}
        missing = [x for x in local if x not in api]
        return Observation(not missing, f"{len(local)} static pods on the node; not mirrored in the API: "
                                        f"{', '.join(missing) or 'none'}")
    obs = _until(check, min(deadline, time.monotonic() + 15))
    return _probe("static-pods-mirrored", "pass" if obs.ok else "fail", obs.text(), t0, "node")


# --- all of them --------------------------------------------------------------------------------------
@dataclass
class ProbeRun:
    probes: list[Probe] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_probes(kube, node, node_name: str, image: str, timeout: float, write: bool = True) -> ProbeRun:
    """Every probe, the independent ones at once, each bounded by TIMEOUT seconds. WRITE=False: only
    the ones that create nothing (--no-probe-pod)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    run = ProbeRun()
    results: dict[str, list[Probe]] = {}
    ready = api_readyz(kube)
    jobs: dict[str, Callable[[], list[Probe]]] = {
        "etcd-from-api": lambda: [etcd_from_api(kube)],
        "etcd-member": lambda: [etcd_member(node)] if node is not None else [],
        "mirrored": lambda: [static_pods_mirrored(kube, node, node_name, deadline)] if node is not None else [],
        "clusterip": lambda: [service_clusterip(kube, node, deadline)] if node is not None else [],
        "dns": lambda: [dns_resolves(kube, node, deadline)] if node is not None else [],
    }
    if ready.status != "pass" and ready.status != "error":
        # No API: the probes that need one would each wait out their deadline to say the same.
        jobs = {k: v for k, v in jobs.items() if k in ("etcd-from-api", "etcd-member")}
    elif write:
        try:
            ensure_namespace(kube, run.created)
        except Exception as exc:  # noqa: BLE001
            status = "error" if own_problem(exc) else "fail"
            results["namespace"] = [_probe("api-write", status, f"namespace {PROBE_NAMESPACE}: {_exc(exc)}", t0)]
        else:
            jobs["api-write"] = lambda: [api_write(kube, run.created)]
            jobs["pod"] = lambda: pod_probes(kube, node, image, timeout, run.created, node_name)
            jobs["controllers"] = lambda: controller_probes(kube, image, timeout, run.created)

    def work(key: str, fn: Callable[[], list[Probe]]) -> None:
        try:
            results[key] = fn()
        except Exception as exc:  # noqa: BLE001 - a probe that blew up could not run
            results[key] = [Probe("kube-apiserver", key, "error", f"probe could not run: {_exc(exc)}")]

    threads = [threading.Thread(target=work, args=(k, fn), name=f"probe-{k}", daemon=True) for k, fn in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5 * timeout + 30)
    run.probes = [ready] + [p for k in list(jobs) + ["namespace"] for p in results.get(k, [])]
    if write:
        cleanup(kube)
    run.seconds = time.monotonic() - t0
    return run


def cleanup(kube) -> None:
    """Delete every probe object left in PROBE_NAMESPACE (best effort; the namespace stays)."""
    from kubernetes import client
    ns, sel = PROBE_NAMESPACE, PROBE_SELECTOR
    disc = client.DiscoveryV1Api(kube.api_client)
    for fn in (kube.apps.delete_collection_namespaced_deployment, kube.apps.delete_collection_namespaced_replica_set,
               kube.core.delete_collection_namespaced_config_map, disc.delete_collection_namespaced_endpoint_slice):
        with contextlib.suppress(Exception):
            fn(ns, label_selector=sel, _request_timeout=REQUEST_TIMEOUT)
    with contextlib.suppress(Exception):
        kube.core.delete_collection_namespaced_pod(ns, label_selector=sel, grace_period_seconds=0,
                                                   _request_timeout=REQUEST_TIMEOUT)
    with contextlib.suppress(Exception):
        for s in kube.core.list_namespaced_service(ns, label_selector=sel, _request_timeout=REQUEST_TIMEOUT).items:
            kube.core.delete_namespaced_service(s.metadata.name, ns, _request_timeout=REQUEST_TIMEOUT)


def endpoint(kubeconfig) -> tuple[str, int, bytes | None]:
    """(host, port, CA PEM) of the kubeconfig's current cluster."""
    cfg = yaml.safe_load(open(kubeconfig, encoding="utf-8"))
    ctx_name = cfg.get("current-context")
    ctx = next((c["context"] for c in cfg.get("contexts", []) if c["name"] == ctx_name), None)
    cl = next((c["cluster"] for c in cfg["clusters"] if not ctx or c["name"] == ctx["cluster"]), cfg["clusters"][0]["cluster"])
    u = urlsplit(cl["server"])
    ca = base64.b64decode(cl["certificate-authority-data"]) if cl.get("certificate-authority-data") else None
    return u.hostname, u.port or 443, ca


def lease_renewed_ns(obj) -> int | None:
    """A Lease object's renewTime in nanoseconds since the epoch; None without one."""
    t = obj.spec.renew_time if obj is not None and obj.spec is not None else None
    if t is None:
        return None
    return int((t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp() * 1e9)


def lease_acquired_ns(obj) -> int | None:
    """A Lease object's acquireTime in nanoseconds since the epoch; None without one."""
    t = obj.spec.acquire_time if obj is not None and obj.spec is not None else None
    if t is None:
        return None
    return int((t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp() * 1e9)


def lease_renewed_since(kube, lease: str, since_s: float | None) -> bool | None:
    """Whether kube-system's LEASE was renewed at or after SINCE_S (epoch seconds: a container's
    start), i.e. a leader that is alive since then holds it; None when it could not be read."""
    if kube is None or since_s is None:
        return None
    try:
        _, obj = lease_holder(kube, lease)
    except Exception:  # noqa: BLE001 - unknown, not "no leader"
        return None
    renewed = lease_renewed_ns(obj)
    return renewed is not None and renewed >= since_s * 1e9


def lease_live(kube, lease: str, now: datetime | None = None) -> bool | None:
    """Whether kube-system's LEASE has a holder that renewed it within its duration (someone
    leads); None when the Lease could not be read (no evidence either way)."""
    if kube is None:
        return None
    try:
        _, obj = lease_holder(kube, lease)
    except Exception:  # noqa: BLE001 - unknown, not "no leader"
        return None
    spec = obj.spec
    if not spec.holder_identity or spec.renew_time is None or not spec.lease_duration_seconds:
        return False
    renewed = spec.renew_time if spec.renew_time.tzinfo else spec.renew_time.replace(tzinfo=timezone.utc)
    return renewed + timedelta(seconds=spec.lease_duration_seconds) > (now or datetime.now(timezone.utc))
