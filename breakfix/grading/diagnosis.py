"""Diagnosis without the catalog: what changed (a node file against its baseline), what proves the
component is down (its own error line), and which failure is the root cause (dependencies are
known: the kubelet runs every static pod, etcd serves the API server, the API server serves every
other component). Pure functions over parsed data: unit-tested without a cluster.

A changed line is found by comparing two documents key by key, never by looking for a value the
catalog uses. A catalog fault is named (a bonus, for its remediation text) only when applying its
own edits to the baseline gives exactly the change that is observed: each edit op is its own
signature, so nothing here knows an op or a fault by name."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml

from ..edits import EditError, apply_edits
from ..loglines import CONCRETE as _CONCRETE, JOURNALD as _JOURNALD, KLOG as _KLOG, WORDS as _WORDS
from ..loglines import cause_line, clip, error_line  # noqa: F401 - the proving line, read here too
from ..node import MANIFEST_DIR
from .kubeconfig import KUBECONFIGS, kubeconfig_facts

# Who needs whom. A failing check whose dependency is also failing is "blocked by" it.
DEPENDS: dict[str, tuple[str, ...]] = {
    "kubelet": (),
    "etcd": ("kubelet",),
    "kube-apiserver": ("etcd", "kubelet"),
    # the API server's link to etcd (/readyz/etcd): either end may break it
    "storage": ("kube-apiserver", "etcd", "kubelet"),
    "kube-controller-manager": ("kube-apiserver", "kubelet"),
    "kube-scheduler": ("kube-apiserver", "kubelet"),
    # a worker node's kubelet (Grader(workers=...)): its unit, its Node, a pod placed there starts
    "workers": ("kube-scheduler", "kube-apiserver", "kubelet"),
    "nodes": ("kube-apiserver", "kubelet", "workers"),
    # a bound pod's container starts: the kubelet runs what the API server admitted
    "pod-start": ("kube-scheduler", "kube-apiserver", "kubelet"),
    # pod IPs, Service ClusterIPs, cluster DNS
    "network": ("pod-start", "kube-apiserver", "kubelet"),
    "app": ("kube-controller-manager", "kube-scheduler", "kube-apiserver", "kubelet", "workers"),
}
ORDER = list(DEPENDS)          # dependencies before what depends on them
SECRET_KEY = re.compile(r"(?i)(-data|token|password|secret)$")


@dataclass(frozen=True)
class Change:
    file: str
    key: str                    # --flag, command, image, volumes[k8s-certs].hostPath.path, staticPodPath...
    now: Any                    # None: the key is gone
    baseline: Any               # None: the key is new
    baseline_from: str          # backup | kubeadm | snapshot

    def line(self, component: str) -> str:
        now = "(removed)" if self.now is None else _show(self.key, self.now)
        was = "(absent)" if self.baseline is None else _show(self.key, self.baseline)
        return f"{component}: {self.key}={now} (baseline {was}, from {self.baseline_from})"

    def to_dict(self) -> dict:
        return {"file": self.file, "key": self.key, "now": _shown_value(self.key, self.now),
                "baseline": _shown_value(self.key, self.baseline), "baseline_from": self.baseline_from}


def _shown_value(key: str, v: Any) -> Any:
    return "<redacted>" if v is not None and SECRET_KEY.search(key) else v


def _show(key: str, v: Any) -> str:
    v = _shown_value(key, v)
    return v if isinstance(v, str) else yaml.safe_dump(v, default_flow_style=True).strip()


# --- flattening documents to comparable keys ----------------------------------------------------
def _argv_keys(argv: list) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if argv and isinstance(argv[0], str) and not argv[0].startswith("-"):
        out["command"] = argv[0]
        argv = argv[1:]
    for a in argv:
        if isinstance(a, str) and a.startswith("-"):
            flag, eq, value = a.partition("=")
            out[flag] = value if eq else ""
        else:
            out.setdefault("args", []).append(a)
    return out


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        for item in value:     # named list items keep their identity when the list is reordered
            _flatten({k: v for k, v in item.items() if k != "name"}, f"{prefix}[{item['name']}]", out)
    else:
        out[prefix] = value


def manifest_keys(doc: Any) -> dict[str, Any]:
    """A static pod manifest as comparable keys: its command line as flags, the rest of the first
    container and the pod spec as dotted paths (named list items by name)."""
    if not isinstance(doc, dict):
        return {"(document)": doc}
    spec = dict(doc.get("spec") or {})
    containers = spec.pop("containers", None) or [{}]
    c = dict(containers[0]) if isinstance(containers[0], dict) else {}
    out = _argv_keys(list(c.pop("command", None) or []) + list(c.pop("args", None) or []))
    c.pop("name", None)
    _flatten(c, "", out)
    _flatten(spec, "", out)
    _flatten({k: v for k, v in doc.items() if k in ("kind", "apiVersion")}, "", out)
    return out


def env_keys(text: str) -> dict[str, Any]:
    """kubeadm-flags.env: KUBELET_KUBEADM_ARGS="--flag=v ..." as flags."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        name, eq, value = line.partition("=")
        if eq and name.strip() and not name.startswith("#"):
            out.update(_argv_keys(value.strip().strip('"').split()))
    return out


def document_keys(path: str, text: str, read: Callable[[str], bytes | None] | None = None) -> dict[str, Any]:
    """PATH's text as comparable keys. A kubeconfig as its facts (kubeconfig.py; READ gives the bytes
    of a file it names), kubeadm-flags.env as flags, a manifest as its command line and fields."""
    if path.endswith(".env"):
        return env_keys(text)
    if path in KUBECONFIGS:
        return kubeconfig_facts(text, read or (lambda p: None))
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return {"(document)": f"not valid YAML: {getattr(exc, 'problem', exc)}"}
    if path.startswith("/etc/kubernetes/manifests/"):
        return manifest_keys(doc)
    out: dict[str, Any] = {}
    _flatten(doc, "", out)
    return out


def changes(path: str, now_text: str, baseline_text: str, baseline_from: str,
            read: Callable[[str], bytes | None] | None = None) -> list[Change]:
    """Every key whose value differs between the file now and its baseline."""
    now, base = document_keys(path, now_text, read), document_keys(path, baseline_text, read)
    out = []
    for key in list(base) + [k for k in now if k not in base]:
        if now.get(key) != base.get(key):
            out.append(Change(path, key, now.get(key), base.get(key), baseline_from))
    return out


def catalog_match(component: str, observed: list[Change], baselines: dict[str, str], catalog: dict,
                  prefer: frozenset[str] = frozenset()) -> Any:
    """The catalog fault whose edits, applied to the baseline, give exactly the observed changes
    of its target file; None when none does. When several do (the same edit for another cluster
    shape), the one the node's journal names (PREFER: `breakfix break` set it up) comes first, then
    the one that applies to the most cluster shapes, then by id."""
    want = {(c.file, c.key, _norm(c.now)) for c in observed}
    if not want:
        return None
    hits = []
    for f in catalog.values():
        if f.component != component or not f.edits or f.target.kind not in ("manifest", "file"):
            continue
        path = f"{MANIFEST_DIR}/{f.target.path}" if f.target.kind == "manifest" else f.target.path
        if path not in baselines:
            continue
        try:
            edited = apply_edits(yaml.safe_load(baselines[path]), list(f.edits))
        except (EditError, Exception):  # noqa: BLE001 - this fault does not apply to this file
            continue
        mine = changes(path, yaml.safe_dump(edited, sort_keys=False), baselines[path], "catalog")
        if mine and {(c.file, c.key, _norm(c.now)) for c in mine} == {w for w in want if w[0] == path}:
            hits.append(f)
    hits.sort(key=lambda f: (f.id not in prefer, -len(getattr(f, "shapes", ()) or ()), f.id))
    return hits[0] if hits else None


def _norm(v: Any) -> Any:
    """V as a comparable, hashable value: a number as its text, a list or mapping as sorted JSON."""
    if isinstance(v, (list, dict)):
        return json.dumps(v, sort_keys=True, default=str)
    return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


# --- the proving line (clip, error_line and cause_line are breakfix/loglines.py's) -----------------------
_ERRORISH = re.compile(r"\b[EFW]\d{4} \d\d:\d\d:\d\d|\"level\":\"(?:error|fatal|warn)|" + _WORDS.pattern, re.I)


def mention_line(log: str, changed: list[Change]) -> str | None:
    """The last error line of LOG that names a value the diagnosis found changed: the component
    saying what it could not do with exactly that value (a path that does not exist, an endpoint
    it cannot dial). A value must stand alone (/etc/x is not /etc/xs) and be at least 4 characters;
    secrets are never looked for."""
    pats = []
    for c in changed:
        v = c.now
        if not isinstance(v, (str, int)) or isinstance(v, bool) or SECRET_KEY.search(c.key):
            continue
        values = [str(v)]
        if c.key.endswith(".subject"):   # an identity is logged by its name: User "system:kube-x"
            values += [part[3:] for part in str(v).split(",") if part.startswith("CN=")]
        if "://" in str(v):              # an endpoint is dialled as host:port
            values += [u.split("://", 1)[1].rstrip("/") for u in str(v).split(",") if "://" in u]
        for v in values:
            if len(v) >= 4:
                pats.append(re.compile(r"(?<![\w./-])" + re.escape(v) + r"(?![\w./-])"))
    if not pats:
        return None
    hits = [_JOURNALD.sub("", ln.strip()) for ln in (log or "").splitlines()
            if _ERRORISH.search(ln) and any(p.search(ln) for p in pats)]
    return clip(hits[-1], 600) if hits else None


# Lines a healthy component logs too, after its start-up (view.STARTUP_S): seen on a healthy kind
# node of this project (tests/e2e/test_grader_running.py reads every component's log): never proof.
# The scheduler and the controller manager list resources before the API server serves their RBAC.
HEALTHY_NOISE = [re.compile(p) for p in (
    r'is forbidden: User \\?"system:kube-(?:scheduler|controller-manager)\\?" cannot (?:list|watch|get) resource',
    # the kubelet asks for a pod that was just deleted (the probes' own pods): the node authorizer
    # no longer relates the node to it
    r"no relationship found between node '[^']*' and this object",
    # a component stopping cancels its own dials (the API server's to etcd as the kubelet restarts it)
    r"dial tcp \S+: operation was canceled",
)]


def healthy_noise(line: str) -> bool:
    return any(p.search(line) for p in HEALTHY_NOISE)


def running_proof(log: str) -> str | None:
    """From the log of a container that runs (since it started), the line that says what it cannot
    do: the last one naming a concrete failure (a refused dial, a missing file, a certificate,
    Unauthorized or forbidden), never a line a healthy component logs too. A generic error line is
    no proof here: a healthy API server on a busy node logs "Post-timeout activity" too. None when
    it says nothing concrete."""
    lines = [_JOURNALD.sub("", ln.strip()) for ln in (log or "").splitlines() if ln.strip()]
    concrete = [ln for ln in lines if not healthy_noise(ln) and (_CONCRETE.search(ln) or _FAILED_AUTH.search(ln))]
    return clip(concrete[-1]) if concrete else None


# an authorization refusal reads "<resource> is forbidden: User ..."; a validation error's
# "spec.podCIDRs: Forbidden: ..." is the API server refusing a value, not the component's credentials
_FAILED_AUTH = re.compile(r"\bUnauthorized\b|\bis forbidden: |certificate has expired|x509:", re.I)


# --- root causes --------------------------------------------------------------------------------
@dataclass
class Finding:
    component: str
    role: str = "root-cause"                  # root-cause | blocked | warn (changed, yet every check passes)
    blocked_by: str | None = None
    changed: list[Change] = field(default_factory=list)
    proof: list[str] = field(default_factory=list)
    catalog: Any = None                       # a catalog Fault, or None

    def to_dict(self) -> dict:
        return {"component": self.component, "role": self.role, "blocked_by": self.blocked_by,
                "changed": [c.to_dict() for c in self.changed], "proof": list(self.proof),
                "catalog": ({"id": self.catalog.id, "title": self.catalog.title,
                             "remediation": self.catalog.remediation} if self.catalog else None)}


def _closure(name: str) -> list[str]:
    seen: list[str] = []
    todo = list(DEPENDS.get(name, ()))
    while todo:
        d = todo.pop(0)
        if d not in seen:
            seen.append(d)
            todo.extend(DEPENDS.get(d, ()))
    return seen


def root_causes(failing: Iterable[str], changed: dict[str, list[Change]]) -> list[Finding]:
    """Order the failures: a failing part whose file changed, or none of whose dependencies is
    failing or changed, is a root cause; a changed part that something failing depends on is a
    root cause even when it runs; every other failing part is blocked by the nearest root cause
    it depends on. Root causes first, each list in dependency order."""
    failing = set(failing)
    suspects = failing | {c for c, ch in changed.items() if ch}
    roots: list[str] = []
    for name in ORDER:
        deps = _closure(name)
        if name in failing and (changed.get(name) or not any(d in suspects for d in deps)):
            roots.append(name)
        elif name not in failing and changed.get(name) and any(name in _closure(f) for f in failing):
            roots.append(name)
    out = [Finding(r, changed=list(changed.get(r, []))) for r in roots]
    for name in ORDER:
        if name in failing and name not in roots:
            by = next((d for d in _closure(name) if d in roots), None)
            out.append(Finding(name, role="blocked", blocked_by=by or next(
                (d for d in _closure(name) if d in failing), None)))
    return out
