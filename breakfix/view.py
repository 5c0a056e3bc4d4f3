"""The node's own view of a static pod component, as structured data (crictl + the kubelet's
journal): what the kubelet runs for it, how its newest container ended, its own error line, and
what the kubelet says when it cannot run it at all; a unit's journal by invocation; the kubelet's
failing probes. Read-only. Used by the engine (a static pod's sandboxes, a node symptom) and by the
grader for its proof, with or without the API server."""
from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from dataclasses import dataclass, field

from .loglines import KLOG_ERR, cause_line, clip, error_line, klog_fields
from .node import Node


@dataclass
class NodeComponent:
    component: str
    pod: str
    listed: bool = False                  # crictl answered (nothing below is evidence otherwise)
    sandbox_uid: str | None = None        # newest sandbox: its uid is the manifest's hash
    sandbox_state: str | None = None
    state: str | None = None              # newest container of that sandbox: CONTAINER_RUNNING/EXITED/...
    container_id: str | None = None
    exit_code: int | None = None          # of the newest container that ended
    reason: str | None = None
    attempts: int = 0                     # containers the kubelet created for that sandbox
    created_ns: int = 0                   # of the newest container (node clock, ns)
    before: list[str] = field(default_factory=list)   # states of older attempts, oldest first
    log: str = ""                         # of the newest container that ended (stdout + stderr)
    current_log: str = ""                 # of the newest container while it runs (since it started)
    error: str | None = None              # the component's own error line (its log)
    cause: str | None = None              # the line saying why, when the error line only timed out
    kubelet_lines: list[str] = field(default_factory=list)   # the kubelet's errors about this pod
    problem: str | None = None            # why the view is incomplete (crictl failed)

    @property
    def running(self) -> bool:
        return self.state == "CONTAINER_RUNNING"

    def line(self) -> str:
        sb = f"pod {self.pod} sandbox {(self.sandbox_uid or 'none')[:12]} {self.sandbox_state or ''}".strip()
        if not self.state:
            return f"crictl: no {self.component} container for the current pod ({sb})"
        return (f"crictl: {self.component} container {(self.container_id or '')[:13]} {self.state} "
                f"exitCode={self.exit_code} reason={self.reason} attempts={self.attempts} ({sb})")

    def proof(self) -> list[str]:
        """The lines that prove what is wrong, the component's own words first."""
        out = []
        if self.error:
            out.append(self.error)
        if self.cause:
            out.append(self.cause)
        if self.state and not self.running:
            out.append(f"container {self.state.removeprefix('CONTAINER_').lower()}"
                       + (f", exit code {self.exit_code}" if self.exit_code is not None else "")
                       + (f" ({self.reason})" if self.reason and self.reason not in ("Error", "Completed") else ""))
        elif self.listed and not self.state:
            out.append(f"no {self.component} container for pod {self.pod}"
                       + (f" (sandbox {self.sandbox_state})" if self.sandbox_state else " (no sandbox)"))
        out.extend(self.kubelet_lines[-2:])
        if self.problem:
            out.append(self.problem)
        return out


def _json(r) -> dict:
    try:
        return json.loads(r.stdout) if r.ok and r.stdout.strip() else {}
    except json.JSONDecodeError:
        return {}


def sandboxes(node: Node, node_name: str, component: str) -> dict[str, str] | None:
    """{uid: state} of the component's static pod sandboxes, oldest first; None when crictl failed
    (a failed listing is not an empty one). A static pod's uid is the hash of its manifest."""
    r = node.crictl(f"pods --name {shlex.quote('^' + component + '-' + node_name + '$')} -o json")
    if not r.ok:
        return None
    items = sorted(_json(r).get("items") or [], key=lambda s: int(s.get("createdAt", 0)))
    return {i["metadata"]["uid"]: i.get("state") for i in items}


@dataclass(frozen=True)
class Container:
    id: str
    state: str           # CONTAINER_RUNNING, CONTAINER_EXITED, ...
    pod_uid: str         # for a static pod, the hash of its manifest
    created_ns: int

    @property
    def running(self) -> bool:
        return self.state == "CONTAINER_RUNNING"


def containers(node, node_name: str, component: str) -> list[Container] | None:
    """COMPONENT's containers of its static pod on the node, oldest first; None when crictl failed
    (a failed listing is not an empty one)."""
    r = node.crictl(f"ps -a --name {shlex.quote('^' + component + '$')} -o json")
    if not r.ok:
        return None
    try:
        items = json.loads(r.stdout or "{}").get("containers") or []
    except (ValueError, AttributeError):
        return None
    pod = f"{component}-{node_name}"
    out = []
    for x in items:
        labels = x.get("labels") or {}
        if labels.get("io.kubernetes.pod.name") != pod:
            continue
        out.append(Container(str(x.get("id", "")), str(x.get("state", "")),
                             str(labels.get("io.kubernetes.pod.uid", "")), int(x.get("createdAt", 0) or 0)))
    return sorted(out, key=lambda c: c.created_ns)


def node_component(node: Node, node_name: str, component: str, journal: str | None = None,
                   exclude_uid: str | None = None, since_ns: int | None = None) -> NodeComponent:
    """The view of COMPONENT's static pod on the node. EXCLUDE_UID: leave out that sandbox (the pod
    that ran before a change) when looking for the newest; SINCE_NS: count only containers created
    after that node time (evidence left by an earlier run of the same manifest is not evidence)."""
    pod = f"{component}-{node_name}"
    v = NodeComponent(component, pod)
    sbs = sandboxes(node, node_name, component)
    listed = containers(node, node_name, component) if sbs is not None else None
    if sbs is None or listed is None:
        v.problem = f"crictl failed: {'pods' if sbs is None else 'ps'}"
        return v
    v.listed = True
    others = [(uid, st) for uid, st in sbs.items() if uid != exclude_uid]
    if others:
        v.sandbox_uid, v.sandbox_state = others[-1]
    mine = [c for c in listed
            if (not v.sandbox_uid or c.pod_uid == v.sandbox_uid) and c.created_ns >= (since_ns or 0)]
    v.attempts = len(mine)
    if mine:
        last = mine[-1]
        v.state, v.container_id = last.state, last.id
        v.created_ns = last.created_ns
        v.before = [c.state for c in mine[:-1]]
        # How the newest container that ended ended, and its error line (a running one may be fine).
        ended = [c for c in mine if c.state == "CONTAINER_EXITED"]
        if ended:
            ins = _json(node.crictl(f"inspect {shlex.quote(ended[-1].id)}")).get("status") or {}
            v.exit_code, v.reason = ins.get("exitCode"), ins.get("reason")
            log = node.crictl(f"logs --tail 300 {shlex.quote(ended[-1].id)}")
            v.log = (log.stdout + "\n" + log.stderr).strip()
            # A container that never started (exec failed) has no log: the runtime's message is its word.
            v.error = error_line(v.log) or (clip(str(ins.get("message")).strip()) if ins.get("message") else None)
            v.cause = cause_line(v.log, v.error)
        if v.running:   # what it says now: a running component may fail at its job (a refused dial)
            log = node.crictl(f"logs --tail 300{_after_startup(v.created_ns)} {shlex.quote(last.id)}")
            v.current_log = (log.stdout + "\n" + log.stderr).strip()
    if not mine:   # no container at all: only the kubelet can say why (image, volume, sandbox)
        text = journal if journal is not None else node.journal("kubelet", lines=400)
        v.kubelet_lines = [_short(ln) for ln in text.splitlines() if pod in ln and KLOG_ERR.search(ln)][-4:]
    return v


# What every component logs while it starts (the API server dials etcd before etcd answers, the
# scheduler lists before its RBAC is served) is no evidence: once a container has run this long,
# only what it logged after its first STARTUP_S seconds is read.
STARTUP_S = 15


def _after_startup(created_ns: int, now: float | None = None) -> str:
    """crictl's `--since` for a container created at CREATED_NS: its start-up seconds left out, once
    it has run twice that long (a younger one is read whole)."""
    if not created_ns:
        return ""
    start = created_ns / 1e9
    if (now or time.time()) - start < 2 * STARTUP_S:
        return ""
    since = dt.datetime.fromtimestamp(start + STARTUP_S, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f" --since {since}"


def _short(line: str) -> str:
    return clip(" ".join(line.split()))


@dataclass
class UnitJournal:
    """A systemd unit's journal records as fields (journalctl -o json), split at its current (or
    last) invocation: what it logged since it last started, and what came before."""
    invocation: str | None
    current: list[str]          # MESSAGE of each record of that invocation, oldest first
    all: list[str]              # every record read, oldest first

    def text(self) -> str:
        return "\n".join(self.current)


def _message(rec: dict) -> str:
    m = rec.get("MESSAGE", "")
    if isinstance(m, list):   # journald gives non-UTF-8 messages as a byte array
        m = bytes(x for x in m if isinstance(x, int)).decode("utf-8", "replace")
    return str(m)


def unit_journal(node: Node, unit: str, lines: int = 400) -> UnitJournal:
    r = node.run(f"systemctl show -p InvocationID --value {shlex.quote(unit)}; "
                 f"journalctl -u {shlex.quote(unit)} --no-pager -o json -n {int(lines)}", timeout=30)
    out = (r.stdout or "").splitlines()
    inv = out[0].strip() if out else ""
    recs = []
    for ln in out[1:]:
        try:
            recs.append(json.loads(ln))
        except ValueError:
            continue
    if not inv:   # stopped: its last invocation
        inv = next((rec.get("_SYSTEMD_INVOCATION_ID") or rec.get("INVOCATION_ID") for rec in reversed(recs)
                    if rec.get("_SYSTEMD_INVOCATION_ID") or rec.get("INVOCATION_ID")), "")
    mine = [rec for rec in recs if inv and inv in (rec.get("_SYSTEMD_INVOCATION_ID"), rec.get("INVOCATION_ID"))]
    return UnitJournal(inv or None, [_message(rec) for rec in mine], [_message(rec) for rec in recs])


def probe_failures(node: Node, pod: str, since: str = "-30s") -> list[str]:
    """The kubelet's failing probes of POD (a kube-system static pod's name) since SINCE, oldest
    first: the MESSAGE of each record of its journal (journalctl -o json) whose klog fields say
    "Probe failed" for that pod (pod="kube-system/POD")."""
    r = node.run(f"journalctl -u kubelet --no-pager -o json --since {shlex.quote(since)}")
    out = []
    for ln in (r.stdout or "").splitlines():
        try:
            rec = json.loads(ln)
        except ValueError:
            continue
        text = _message(rec)
        f = klog_fields(text)
        if f and f["msg"] == "Probe failed" and f.get("pod", "").rpartition("/")[2] == pod:
            out.append(text)
    return out
