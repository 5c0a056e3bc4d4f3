"""Grading a live cluster: read-only checks, each with its evidence, the likely fault from the
catalog and its remediation, and a weighted score.

The checks read the node (manifests, crictl, systemctl, journalctl) and the API server. The one
write grading does is a short-lived probe pod, through the API (skip it with probe=False). The
files under /etc/kubernetes and the kubelet's config are checksummed before and after the run; a
difference fails the run loudly (ReadOnlyViolation).

Every failure is then diagnosed without the catalog (breakfix/diagnosis.py): the changed line, the
proof, and the root cause first. The parts that decide things are pure functions
(manifest_problems, host_path_for, diagnosis.*, score, to_junit): unit-tested without a cluster."""
from __future__ import annotations

import json
import posixpath
import re
import shlex
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml

from .baseline import part_of, read_baselines
from .catalog import Fault
from .diagnosis import Finding, catalog_match, changes, error_line, root_causes
from .errors import BreakfixError
from .kube import STATIC_COMPONENTS, container_view
from .lab import WATCHED_PATHS
from .node import MANIFEST_DIR, Node
from .report import redact
from .view import node_component
from .waits import Observation, timeout, wait_until

# What each kind of check is worth in the score.
WEIGHTS: dict[str, int] = {
    "manifest": 2,        # <component>: manifest valid
    "pod_ready": 3,       # <component>: pod Ready
    "kubelet_active": 3,  # kubelet: service active
    "nodes_ready": 3,     # kubelet: nodes Ready
    "probe_pod": 2,       # scheduling: a test pod schedules and runs
    "app_replicas": 3,    # app: N ready replicas (only with --replicas N)
}
TITLES = {
    "manifest": "manifest valid",
    "pod_ready": "pod Ready",
    "kubelet_active": "service active",
    "nodes_ready": "nodes Ready",
    "probe_pod": "a test pod schedules and runs",
    "app_replicas": "replicas Ready",
}
CREATE_TYPES = {"DirectoryOrCreate", "FileOrCreate"}   # the kubelet creates these: no need to exist
MIN_UPTIME_S = 10          # a container (or the kubelet) must be up this long to count as running
EVIDENCE_LINES = 10        # lines of evidence printed per failed check (JSON/JUnit get all of it)
# The part of the cluster (diagnosis.DEPENDS) each check is about; by default its component.
PARTS = {"nodes_ready": "nodes", "probe_pod": "scheduling", "app_replicas": "app"}
VERDICT_EXIT = {"pass": 0, "fail": 1, "could-not-grade": 2}


class ReadOnlyViolation(BreakfixError):
    """Grading changed a file on the node. This must never happen."""


# --- results ---------------------------------------------------------------------------------
@dataclass
class LikelyFault:
    """A catalog fault whose own edits, applied to the baseline, give the observed change."""
    id: str
    title: str
    remediation: str
    matched: list[str]
    score: int = 0
    via: str | None = None      # set when the fault was found on another component (blocked-by)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "remediation": self.remediation,
                "matched": list(self.matched), "via": self.via}


@dataclass
class CheckResult:
    component: str
    kind: str
    status: str                        # pass | fail | skip
    evidence: str = ""
    source: str = "node"               # api | node
    likely_fault: LikelyFault | None = None
    seconds: float = 0.0
    match_text: str = field(default="", repr=False)   # everything seen, for catalog matching

    @property
    def name(self) -> str:
        return f"{self.component}: {TITLES.get(self.kind, self.kind)}"

    @property
    def id(self) -> str:
        return f"{self.component}/{self.kind}"

    @property
    def part(self) -> str:
        return PARTS.get(self.kind, self.component)

    @property
    def weight(self) -> int:
        return WEIGHTS.get(self.kind, 1)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "component": self.component, "kind": self.kind,
                "status": self.status, "passed": self.passed, "weight": self.weight, "source": self.source,
                "evidence": redact(self.evidence),
                "likely_fault": self.likely_fault.to_dict() if self.likely_fault else None,
                "seconds": round(self.seconds, 2)}


def score(results: Iterable[CheckResult]) -> tuple[int, int, float]:
    """(passed weight, total weight, percent) over the checks that ran (skipped ones don't count)."""
    ran = [r for r in results if r.status != "skip"]
    total = sum(r.weight for r in ran)
    got = sum(r.weight for r in ran if r.passed)
    return got, total, round(100.0 * got / total, 1) if total else 0.0


@dataclass
class GradeReport:
    checks: list[CheckResult]
    node_spec: str
    node_name: str
    api: dict                 # {"reachable": bool, "detail": str}
    readonly: dict            # {"paths": [...], "files": n, "unchanged": bool, "changed": [...]}
    seconds: float = 0.0
    diagnosis: list = field(default_factory=list)    # diagnosis.Finding, root causes first
    notes: list = field(default_factory=list)
    verdict: str = "pass"     # pass | fail | could-not-grade

    @property
    def passed(self) -> bool:
        return all(not r.failed for r in self.checks) and self.readonly.get("unchanged", False)

    @property
    def exit_code(self) -> int:
        return VERDICT_EXIT[self.verdict]

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [r for r in self.checks if r.failed]

    def to_dict(self) -> dict:
        got, total, pct = score(self.checks)
        return {"node": {"spec": self.node_spec, "name": self.node_name}, "api": self.api,
                "verdict": self.verdict, "passed": self.passed,
                "diagnosis": [f.to_dict() for f in self.diagnosis], "notes": list(self.notes),
                "score": {"passed_weight": got, "total_weight": total, "percent": pct},
                "failed": [r.name for r in self.failed_checks],
                "checks": [r.to_dict() for r in self.checks],
                "readonly": self.readonly, "seconds": round(self.seconds, 2)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        return to_text(self)

    def to_junit(self) -> str:
        return to_junit(self)


# --- pure parts: manifests -------------------------------------------------------------------
def _container0(doc: Any) -> dict | None:
    if not isinstance(doc, dict):
        return None
    spec = doc.get("spec")
    cs = spec.get("containers") if isinstance(spec, dict) else None
    return cs[0] if isinstance(cs, list) and cs and isinstance(cs[0], dict) else None


def _volumes(doc: Any) -> dict[str, dict]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    vols = spec.get("volumes") if isinstance(spec, dict) else None
    return {v["name"]: v for v in vols or [] if isinstance(v, dict) and isinstance(v.get("name"), str)}


def _mounts(c: dict) -> list[dict]:
    return [m for m in c.get("volumeMounts") or [] if isinstance(m, dict) and isinstance(m.get("mountPath"), str)]


@dataclass(frozen=True)
class HostPath:
    host: str | None          # the path on the node; None when the volume is not a hostPath
    volume: str | None        # the volume the path goes through; None when no mount covers it
    mount_path: str | None


def host_path_for(container_path: str, mounts: list[dict], volumes: dict[str, dict]) -> HostPath:
    """Where CONTAINER_PATH lives on the node, through the container's volumeMounts (the longest
    mountPath that contains it) and that volume's hostPath (plus subPath)."""
    best: dict | None = None
    p = posixpath.normpath(container_path)
    for m in mounts:
        mp = posixpath.normpath(m["mountPath"])
        if p == mp or p.startswith(mp.rstrip("/") + "/"):
            if best is None or len(mp) > len(posixpath.normpath(best["mountPath"])):
                best = m
    if best is None:
        return HostPath(None, None, None)
    mp = posixpath.normpath(best["mountPath"])
    vol = volumes.get(best.get("name", ""))
    hp = (vol or {}).get("hostPath")
    if not isinstance(hp, dict) or not isinstance(hp.get("path"), str):
        return HostPath(None, best.get("name"), mp)
    base = hp["path"].rstrip("/") or "/"
    if best.get("subPath"):
        base = posixpath.join(base, best["subPath"])
    rel = p[len(mp):].lstrip("/")
    return HostPath(posixpath.join(base, rel) if rel else base, best.get("name"), mp)


def _flag_paths(argv: list) -> list[tuple[str, str]]:
    """(--flag, path) for every flag value that is an absolute path under /etc/kubernetes."""
    out = []
    for a in argv:
        if not isinstance(a, str) or not a.startswith("--") or "=" not in a:
            continue
        flag, _, value = a.partition("=")
        for piece in value.split(","):
            piece = piece.strip()
            if piece == "/etc/kubernetes" or piece.startswith("/etc/kubernetes/"):
                out.append((flag, piece))
    return out


def manifest_problems(doc: Any, component: str, exists: Callable[[str], bool],
                      image_present: Callable[[str], bool]) -> list[str]:
    """Everything wrong with a static pod manifest, as one line each; [] when it is valid."""
    if not isinstance(doc, dict):
        return ["not a YAML mapping (a Pod object)"]
    problems = []
    if doc.get("kind") != "Pod":
        problems.append(f"kind is {doc.get('kind')!r}, not 'Pod'")
    c = _container0(doc)
    if c is None:
        return problems + ["no spec.containers[0]"]
    image = c.get("image")
    if not isinstance(image, str) or not image.strip():
        problems.append("spec.containers[0].image is missing")
    elif not image_present(image):
        problems.append(f"image {image} is not present on the node")
    argv = c.get("command")
    if not isinstance(argv, list) or not argv:
        problems.append("spec.containers[0].command is missing")
        argv = []
    elif not isinstance(argv[0], str) or posixpath.basename(argv[0]) != component:
        problems.append(f"command[0] is {argv[0]!r}, expected {component!r}")
    args = c.get("args") if isinstance(c.get("args"), list) else []
    volumes, mounts = _volumes(doc), _mounts(c)
    for m in mounts:
        if m.get("name") not in volumes:
            problems.append(f"volumeMount {m['mountPath']} names volume {m.get('name')!r}, which is not defined")
    for flag, path in _flag_paths(list(argv[1:]) + list(args)):
        hp = host_path_for(path, mounts, volumes)
        if hp.volume is None:
            problems.append(f"{flag}={path}: no volumeMount makes {path} visible in the container")
        elif hp.host is not None and not exists(hp.host):
            problems.append(f"{flag}={path}: {hp.host} does not exist on the node "
                            f"(volume {hp.volume!r} mounts it at {hp.mount_path})")
    for name, v in volumes.items():
        hp = v.get("hostPath")
        if not isinstance(hp, dict):
            continue
        path, typ = hp.get("path"), hp.get("type") or ""
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(f"volume {name!r}: hostPath.path {path!r} is not an absolute path")
        elif typ not in CREATE_TYPES and not exists(path):
            problems.append(f"volume {name!r}: hostPath {path} (type {typ or 'unset'}) does not exist on the node")
    return problems


def needed_paths(doc: Any, component: str) -> list[str]:
    """The node paths manifest_problems will ask about (so they can be tested in one round trip)."""
    seen: list[str] = []

    def record(p: str) -> bool:
        if p not in seen:
            seen.append(p)
        return True

    manifest_problems(doc, component, record, lambda _img: True)
    return seen


# --- pure parts: output ----------------------------------------------------------------------
def _indent(text: str, prefix: str, limit: int | None = EVIDENCE_LINES) -> str:
    lines = [ln for ln in redact(text).strip().splitlines() if ln.strip()]
    if limit and len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines in --json / --junit)"]
    return "\n".join(prefix + ln[:400] for ln in lines)


def to_text(rep: GradeReport) -> str:
    out = [f"breakfix check: node {rep.node_name} ({rep.node_spec}); API server: "
           f"{'reachable' if rep.api.get('reachable') else 'NOT reachable'}"
           + (f" ({rep.api.get('detail')})" if not rep.api.get("reachable") else "")]
    w = max(len(r.name) for r in rep.checks) if rep.checks else 0
    for r in rep.checks:
        mark = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[r.status]
        out.append(f"{mark}  {r.name:<{w}}  [{r.weight}]" + (f"  {_first(r.evidence)}" if r.status != "fail" else ""))
        if r.failed:
            out.append("      evidence:")
            out.append(_indent(r.evidence, "        "))
    if rep.diagnosis:
        out.append("diagnosis (root causes first):")
    shown: set[str] = set()
    for f in rep.diagnosis:
        if f.role != "root-cause":
            continue
        out.append(f"  root cause: {f.component}")
        for c in f.changed:
            out.append(f"    changed: {c.line(f.component)}")
        if not f.changed:
            out.append("    changed: nothing found against the baseline" if not rep.notes else
                       f"    changed: unknown ({rep.notes[-1]})")
        for i, line in enumerate(f.proof or ["(nothing on the node explains it yet)"]):
            out.append(f"    {'proof:  ' if i == 0 else '        '} {redact(line)[:400]}")
        if f.catalog is not None:
            out.append(f"    catalog: {f.catalog.id}: {f.catalog.title}")
            if f.catalog.id not in shown:
                shown.add(f.catalog.id)
                out.append(_indent(f.catalog.remediation, "      ", None))
        else:
            out.append("    catalog: no catalog fault makes this change (the lines above are the diagnosis)")
    blocked: dict[str, list[str]] = {}
    for f in rep.diagnosis:
        if f.role == "blocked":
            blocked.setdefault(f.blocked_by or "?", []).append(f.component)
    for by, parts in blocked.items():
        out.append(f"  blocked by {by}: {', '.join(parts)}")
    got, total, pct = score(rep.checks)
    nfail = len(rep.failed_checks)
    out.append(f"verdict: {rep.verdict.upper()} (exit {rep.exit_code}); score: {pct:.0f}% ({got}/{total})  "
               + ("all checks passed" if nfail == 0 else f"{nfail} of {sum(r.status != 'skip' for r in rep.checks)} "
                                                         f"checks failed: {', '.join(r.name for r in rep.failed_checks)}"))
    ro = rep.readonly
    if ro.get("unchanged"):
        out.append(f"read-only: {ro.get('files')} files under {', '.join(ro.get('paths', []))} have the same "
                   f"sha256 before and after")
    else:
        out.append(f"READ-ONLY VIOLATION: changed during grading: {', '.join(ro.get('changed', []))}")
    return "\n".join(out)


def _first(text: str) -> str:
    lines = redact(text).strip().splitlines()
    return lines[0][:160] if lines else ""


def to_junit(rep: GradeReport) -> str:
    got, total, pct = score(rep.checks)
    cases = list(rep.checks)
    nfail = len(rep.failed_checks) + (0 if rep.readonly.get("unchanged") else 1)
    nskip = sum(r.status == "skip" for r in cases)
    suites = ET.Element("testsuites", name="breakfix check", tests=str(len(cases) + 1), failures=str(nfail),
                        time=f"{rep.seconds:.2f}")
    suite = ET.SubElement(suites, "testsuite", name=f"breakfix check {rep.node_name}", tests=str(len(cases) + 1),
                          failures=str(nfail), errors="0", skipped=str(nskip), time=f"{rep.seconds:.2f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("verdict", rep.verdict), ("score_percent", f"{pct}"), ("passed_weight", str(got)),
                 ("total_weight", str(total)),
                 ("node", rep.node_spec), ("api_reachable", str(bool(rep.api.get("reachable"))).lower())):
        ET.SubElement(props, "property", name=k, value=v)
    for r in cases:
        tc = ET.SubElement(suite, "testcase", classname=f"breakfix.{r.component}", name=r.name,
                           time=f"{r.seconds:.2f}")
        if r.failed:
            body = redact(r.evidence).strip()
            f = next((x for x in rep.diagnosis if x.component == r.part), None)
            if f is not None and f.role == "blocked":
                body += f"\n\nblocked by: {f.blocked_by}"
            elif f is not None:
                body += "\n\nroot cause: " + f.component + "".join(
                    f"\nchanged: {c.line(f.component)}" for c in f.changed) + "".join(
                    f"\nproof: {redact(p)}" for p in f.proof)
            lf = r.likely_fault
            if lf:
                body += (f"\n\ncatalog fault: {lf.id}{f' (via {lf.via})' if lf.via else ''}: {lf.title}"
                         f"\n\nremediation:\n{lf.remediation}")
            fl = ET.SubElement(tc, "failure", message=f"{r.name}: {_first(r.evidence)}"
                               + (f" (likely fault: {lf.id})" if lf else ""), type=r.component)
            fl.text = body
        elif r.status == "skip":
            ET.SubElement(tc, "skipped", message=_first(r.evidence))
        else:
            ET.SubElement(tc, "system-out").text = redact(r.evidence)
    tc = ET.SubElement(suite, "testcase", classname="breakfix.readonly", name="read-only: node files unchanged",
                       time="0")
    if not rep.readonly.get("unchanged"):
        ET.SubElement(tc, "failure", message="grading changed node files",
                      type="readonly").text = "\n".join(rep.readonly.get("changed", []))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def compare_checksums(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files added, removed or changed between two Node.checksums() maps."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _tail(text: str, n: int) -> str:
    return "\n".join(ln for ln in text.strip().splitlines()[-n:])


_KLOG_ERR = re.compile(r"\b[EF]\d{4} \d\d:\d\d:\d\d|\berror\b|\bfailed\b", re.I)


# --- the checks on a live cluster --------------------------------------------------------------
def node_name_of(node: Node) -> str:
    """The Kubernetes node name of the graded node, from its static pods (name <component>-<node>);
    the hostname when there are none."""
    r = node.crictl("pods -o json")
    if r.ok:
        for item in json.loads(r.stdout or "{}").get("items") or []:
            md = item.get("metadata") or {}
            comp = (item.get("labels") or {}).get("component")
            if md.get("namespace") == "kube-system" and comp in STATIC_COMPONENTS \
                    and md.get("name", "").startswith(comp + "-"):
                return md["name"][len(comp) + 1:]
    return node.check("hostname").strip().lower()


def default_probe_image(node: Node, fallback: str = "kube-breakfix/app:v1") -> str:
    """The pause image present on the node (every node has the sandbox image), else FALLBACK."""
    r = node.crictl("images -o json")
    if r.ok:
        for img in json.loads(r.stdout or "{}").get("images") or []:
            for tag in img.get("repoTags") or []:
                if "/pause:" in tag:
                    return tag
    return fallback


class Grader:
    def __init__(self, node: Node, kube, node_name: str, catalog: dict[str, Fault], *,
                 replicas: int | None = None, app_name: str = "app", namespace: str = "default",
                 probe: bool = True, probe_image: str | None = None, probe_timeout: float | None = None,
                 app_timeout: float | None = None, api_error: str | None = None, reporter=None):
        self.node, self.kube, self.node_name, self.catalog = node, kube, node_name, catalog
        self.replicas, self.app_name, self.namespace = replicas, app_name, namespace
        # The suite's named timeouts (BREAKFIX_TIMEOUT_SCALE, BREAKFIX_TIMEOUT_SCHEDULE, ...): a grader
        # on a slow lab machine scales them the same way.
        self.probe, self.probe_image = probe, probe_image
        self.probe_timeout = probe_timeout or timeout("schedule")
        self.app_timeout = app_timeout or timeout("scale")
        self.api_error = api_error if kube is not None else (api_error or "no kubeconfig")
        self.manifests: dict[str, str] = {}
        self.reporter = reporter

    @property
    def api_ok(self) -> bool:
        return self.kube is not None and self.api_error is None

    # --- the whole run -----------------------------------------------------------------------
    def run(self) -> GradeReport:
        t0 = time.monotonic()
        before = self.node.checksums(WATCHED_PATHS)
        results: list[CheckResult] = []
        for c in STATIC_COMPONENTS:
            results.append(self._timed(c, "manifest", lambda c=c: self.check_manifest(c)))
            results.append(self._timed(c, "pod_ready", lambda c=c: self.check_pod(c)))
        results.append(self._timed("kubelet", "kubelet_active", self.check_kubelet))
        results.append(self._timed("kubelet", "nodes_ready", self.check_nodes))
        cp_down = any(r.failed for r in results)
        results.append(self._timed("scheduling", "probe_pod", lambda: self.check_probe(cp_down)))
        results.append(self._timed("app", "app_replicas", lambda: self.check_app(cp_down)))
        findings, notes = self.diagnose(results)
        after = self.node.checksums(WATCHED_PATHS)
        changed = compare_checksums(before, after)
        rep = GradeReport(results, self.node.spec, self.node_name,
                          {"reachable": self.api_ok, "detail": self.api_error or "ok"},
                          {"paths": list(WATCHED_PATHS), "files": len(after), "unchanged": not changed,
                           "changed": changed},
                          time.monotonic() - t0, findings, notes, self.verdict(results))
        if changed:
            raise_with = ReadOnlyViolation(f"grading changed files on the node: {', '.join(changed)[:300]}")
            raise_with.report = rep  # type: ignore[attr-defined]
            raise raise_with
        return rep

    def verdict(self, results: list[CheckResult]) -> str:
        """fail: something in the cluster is broken, with evidence (also when the API server is down
        because its container crashes). could-not-grade: the API server does not answer the grader
        although nothing on the node is down (the grader's own path to it is the problem)."""
        if not any(r.failed for r in results):
            return "pass"
        node_side = [r for r in results if r.failed and r.source == "node"]
        if not self.api_ok and not node_side:
            return "could-not-grade"
        return "fail"

    def _timed(self, component: str, kind: str, fn) -> CheckResult:
        t = time.monotonic()
        try:
            r = fn()
        except BreakfixError as exc:
            r = CheckResult(component, kind, "fail", str(exc), match_text=str(exc))
        except Exception as exc:  # noqa: BLE001 - a check that cannot run is a failed check, with the reason
            line = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
            r = CheckResult(component, kind, "fail", f"check could not run: {line}", match_text=line)
        r.seconds = time.monotonic() - t
        if self.reporter is not None:
            self.reporter.timing(f"check {r.id}", r.seconds)
        return r

    def diagnose(self, results: list[CheckResult]) -> tuple[list[Finding], list[str]]:
        """Root causes first: each with the changed line (node files against their baseline), the
        proof (its own error line, how its container ended, the kubelet's reason) and, as a bonus,
        the catalog fault whose edits give exactly that change. The rest is "blocked by"."""
        failing = {r.part for r in results if r.failed}
        if not failing:
            return [], []
        journal = self.node.journal("kubelet", lines=400)
        views = {c: node_component(self.node, self.node_name, c, journal) for c in STATIC_COMPONENTS
                 if c in failing}
        # A static pod the kubelet no longer even tries to run (no ready sandbox, no container, and
        # not one journal line about it since the kubelet last started): the kubelet is where it
        # breaks, not the component.
        start = journal.rfind("systemd[1]: Started kubelet")
        since = journal[start:] if start >= 0 else journal
        orphans = [c for c, v in views.items() if v.listed and not v.running
                   and v.sandbox_state != "SANDBOX_READY" and v.pod not in since]
        if orphans:
            failing.add("kubelet")
        base, notes = read_baselines(self.node)
        changed: dict[str, list] = {}
        for path, (text, source) in base.items():
            now = self.node.read_bytes(path).decode("utf-8", "replace") if self.node.exists(path) else ""
            found = changes(path, now, text, source)
            if found:
                changed.setdefault(part_of(path), []).extend(found)
        if not base:
            notes.append("no baseline on the node (no backup from `breakfix break`, no `breakfix snapshot`): "
                         "changed lines cannot be shown")
        findings = root_causes(failing, changed)
        by_part = {r.part: r for r in results if r.failed}
        texts = {p: t for p, (t, _) in base.items()}
        for f in findings:
            if f.role == "root-cause":
                f.proof = self.proof(f.component, journal, by_part.get(f.component), views.get(f.component))
                if f.component == "kubelet" and orphans:
                    f.proof.append(f"since it started, the kubelet has not run or even mentioned the pods of "
                                   f"{', '.join(orphans)}, whose manifests are in {MANIFEST_DIR}")
                f.catalog = catalog_match(f.component, f.changed, texts, self.catalog)
        # Each failed check names the catalog fault of its root cause (compatibility: likely_fault).
        cause = {f.component: f for f in findings if f.role == "root-cause"}
        for r in results:
            if not r.failed:
                continue
            f = cause.get(r.part) or cause.get(next((x.blocked_by for x in findings if x.component == r.part), ""))
            if f is not None and f.catalog is not None:
                r.likely_fault = LikelyFault(f.catalog.id, f.catalog.title, f.catalog.remediation,
                                             ["its edits, applied to the baseline, give the changed line"],
                                             via=None if f.component == r.part else f.component)
        return findings, notes

    def proof(self, part: str, journal: str, check: CheckResult | None, view=None) -> list[str]:
        if part in STATIC_COMPONENTS:
            lines = (view or node_component(self.node, self.node_name, part, journal)).proof()
            if self.api_ok:
                try:
                    v = container_view(self.kube.pod(f"{part}-{self.node_name}"))
                    if v.waiting_reason and v.waiting_reason != "CrashLoopBackOff":
                        lines.append(f"kubelet: {v.waiting_reason}" + (f": {v.waiting_message.strip()[:300]}"
                                                                      if v.waiting_message else ""))
                except Exception:  # noqa: BLE001 - the node's view above stands on its own
                    pass
            return lines
        if part == "kubelet":
            obs = self._kubelet_seen()
            since = journal.split("Started kubelet", 1)[-1] if "Started kubelet" in journal else journal
            err = error_line(since)
            return [obs.text()] + ([err] if err else [])
        return [_first(check.evidence)] if check else []

    # --- static pods ---------------------------------------------------------------------------
    def check_manifest(self, comp: str) -> CheckResult:
        path = f"{MANIFEST_DIR}/{comp}.yaml"
        r = self.node.run(f"cat {shlex.quote(path)}")
        if not r.ok:
            ev = f"{path}: cannot read: {(r.stderr or r.stdout).strip()[:200]}"
            return CheckResult(comp, "manifest", "fail", ev, match_text=ev)
        self.manifests[comp] = r.stdout
        try:
            doc = yaml.safe_load(r.stdout)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            ev = f"{path}: not valid YAML" + (f" at line {mark.line + 1}" if mark else "") + \
                 f": {getattr(exc, 'problem', exc)}"
            return CheckResult(comp, "manifest", "fail", ev, match_text=ev)
        existing = self._existing(needed_paths(doc, comp))
        images: dict[str, bool] = {}

        def image_present(img: str) -> bool:
            if img not in images:
                images[img] = self.node.crictl(f"inspecti -o json {shlex.quote(img)} >/dev/null").ok
            return images[img]

        problems = manifest_problems(doc, comp, existing.__contains__, image_present)
        if problems:
            ev = f"{path}:\n" + "\n".join(problems)
            return CheckResult(comp, "manifest", "fail", ev, match_text=ev)
        c = _container0(doc) or {}
        return CheckResult(comp, "manifest", "pass", f"{path}: image {c.get('image')} present, "
                                                     f"{len(existing)} host paths found")

    def _existing(self, paths: list[str]) -> set[str]:
        if not paths:
            return set()
        cmd = "; ".join(f"test -e {shlex.quote(p)} && echo {shlex.quote('Y ' + p)}" for p in paths) + "; true"
        out = self.node.check(cmd)
        return {ln[2:] for ln in out.splitlines() if ln.startswith("Y ")}

    def check_pod(self, comp: str) -> CheckResult:
        note = ""
        if self.api_ok:
            from kubernetes.client.exceptions import ApiException
            try:
                return self._pod_api(comp)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                note = f"mirror pod kube-system/{comp}-{self.node_name} not found in the API (the kubelet is not running it)\n"
            except Exception as exc:  # noqa: BLE001 - the API went away during the run: look on the node
                note = f"API server: {type(exc).__name__}; graded from the node\n"
        r = self._pod_node(comp)
        if note:
            r.evidence = note + r.evidence
            r.match_text = note + r.match_text
            if r.passed and "not found" in note:
                r.status = "fail"
        return r

    def _pod_api(self, comp: str) -> CheckResult:
        pod_name = f"{comp}-{self.node_name}"
        v = container_view(self.kube.pod(pod_name))
        if v.ready and v.running:
            return CheckResult(comp, "pod_ready", "pass", v.line(), source="api")
        lines = [v.line()]
        if v.waiting_message:
            lines.append(f"waiting message: {v.waiting_message.strip()[:400]}")
        full = "\n".join(lines)
        log, which = "", ""
        for previous in (True, False):
            try:
                log = self.kube.logs(pod_name, previous=previous, tail=200) or ""
            except Exception:  # noqa: BLE001 - no such container (yet)
                log = ""
            if log.strip():
                which = "previous log" if previous else "log"
                break
        if log.strip():
            lines.append(f"{which} tail:\n{_tail(log, 6)}")
            full += "\n" + log
        else:
            nv = self._pod_node(comp)
            lines.append("on the node: " + nv.evidence)
            full += "\n" + nv.match_text
        return CheckResult(comp, "pod_ready", "fail", "\n".join(lines), source="api", match_text=full)

    def _pod_node(self, comp: str) -> CheckResult:
        pod_name = f"{comp}-{self.node_name}"
        r = self.node.crictl(f"pods --name {shlex.quote('^' + pod_name + '$')} -o json")
        sandboxes = json.loads(r.stdout or "{}").get("items") or [] if r.ok else []
        newest = max(sandboxes, key=lambda s: int(s.get("createdAt", 0)), default=None)
        r = self.node.crictl(f"ps -a --name {shlex.quote('^' + comp + '$')} -o json")
        if not r.ok:
            ev = f"crictl ps failed: {(r.stderr or r.stdout).strip()[:200]}"
            return CheckResult(comp, "pod_ready", "fail", ev, match_text=ev)
        containers = json.loads(r.stdout or "{}").get("containers") or []
        containers = [c for c in containers if (c.get("labels") or {}).get("io.kubernetes.pod.name") == pod_name]
        uid = (newest or {}).get("metadata", {}).get("uid")
        current = [c for c in containers if (c.get("labels") or {}).get("io.kubernetes.pod.uid") == uid] if uid \
            else containers
        current.sort(key=lambda c: int(c.get("createdAt", 0)))
        running = [c for c in current if c.get("state") == "CONTAINER_RUNNING"]
        now_ns = int(self.node.check("date +%s%N").strip())
        sb = f"pod {pod_name} sandbox {uid[:12] if uid else 'none'} {(newest or {}).get('state', '')}".strip()
        if running:
            c = running[-1]
            up = (now_ns - int(c.get("createdAt", now_ns))) / 1e9
            # Without the API there is no Ready flag: the kubelet logs every failing probe, so a
            # container that runs yet fails its probes in the last 30 s is not Ready.
            failing = self.node.run(
                f"journalctl -u kubelet --no-pager -o cat --since -30s | grep -F {shlex.quote(pod_name)} "
                f"| grep -F 'Probe failed' | tail -3").stdout.strip()
            if up >= MIN_UPTIME_S and not failing:
                return CheckResult(comp, "pod_ready", "pass",
                                   f"crictl: {comp} container {c['id'][:13]} running for {up:.0f}s, no failing "
                                   f"probes in the kubelet's journal ({sb})")
            ev = (f"crictl: {comp} container {c['id'][:13]} running for {up:.0f}s ({sb}; attempts={len(current)})"
                  + (f"\nkubelet: its probes fail:\n{failing}" if failing else " (too short to count as up)"))
            log = self.node.crictl(f"logs --tail 200 {shlex.quote(c['id'])}")
            out = (log.stdout + log.stderr).strip()
            return CheckResult(comp, "pod_ready", "fail", ev + (f"\nlog tail:\n{_tail(out, 6)}" if out else ""),
                               match_text=ev + "\n" + out)
        if not current:
            j = self.node.journal("kubelet", lines=400)
            hits = [ln for ln in j.splitlines() if comp in ln and _KLOG_ERR.search(ln)]
            ev = f"crictl: no {comp} container for the current pod ({sb})"
            if hits:
                ev += "\nkubelet journal:\n" + _tail("\n".join(hits), 4)
            return CheckResult(comp, "pod_ready", "fail", ev, match_text=ev + "\n" + "\n".join(hits))
        c = current[-1]
        info = json.loads(self.node.crictl(f"inspect {shlex.quote(c['id'])}").stdout or "{}").get("status", {})
        ev = (f"crictl: {comp} container {c['id'][:13]} {c.get('state')} exitCode={info.get('exitCode')} "
              f"reason={info.get('reason')} attempts={len(current)} ({sb})")
        if info.get("message"):
            ev += f"\nmessage: {str(info['message']).strip()[:400]}"
        log = self.node.crictl(f"logs --tail 200 {shlex.quote(c['id'])}")
        out = (log.stdout + log.stderr).strip()
        return CheckResult(comp, "pod_ready", "fail", ev + (f"\nlog tail:\n{_tail(out, 6)}" if out else ""),
                           match_text=ev + f" exit={info.get('exitCode')}\n" + out)

    # --- kubelet and nodes ---------------------------------------------------------------------
    def _kubelet_seen(self) -> Observation:
        props = dict(ln.partition("=")[::2] for ln in self.node.run(
            "systemctl show -p ActiveState,SubState,Result,NRestarts,ActiveEnterTimestampMonotonic kubelet; "
            "echo Uptime=$(cut -d' ' -f1 /proc/uptime)").stdout.splitlines() if "=" in ln)
        state = props.get("ActiveState", "unknown")
        try:
            up = float(props.get("Uptime", 0)) - int(props.get("ActiveEnterTimestampMonotonic", 0)) / 1e6
        except ValueError:
            up = 0.0
        seen = (f"kubelet is {state} ({props.get('SubState')}, result={props.get('Result')}, "
                f"restarts={props.get('NRestarts')}, up {up:.0f}s)")
        self._kubelet_state = state
        return Observation(state == "active" and up >= MIN_UPTIME_S, seen)

    def check_kubelet(self) -> CheckResult:
        # A kubelet that restarts in a loop is "active" for a moment each time: it has to stay up.
        obs = self._kubelet_seen()
        if not obs.ok and self._kubelet_state == "active":
            try:
                obs = wait_until(self._kubelet_seen, "kubelet up", MIN_UPTIME_S + 10, interval=2)
            except Exception:  # noqa: BLE001 - judged on the last observation below
                obs = self._kubelet_seen()
        if obs.ok:
            return CheckResult("kubelet", "kubelet_active", "pass", obs.text())
        j = self.node.journal("kubelet", lines=200)
        errs = [ln for ln in j.splitlines() if _KLOG_ERR.search(ln)]
        ev = obs.text() + ("\nkubelet journal:\n" + _tail("\n".join(errs), 5) if errs else "")
        return CheckResult("kubelet", "kubelet_active", "fail", ev, match_text=obs.text() + "\n" + j)

    def check_nodes(self) -> CheckResult:
        if not self.api_ok:
            return CheckResult("kubelet", "nodes_ready", "fail", f"API server not reachable: {self.api_error}",
                               source="api")
        nodes = self.kube.core.list_node(_request_timeout=10).items
        lines, ok = [], True
        for n in nodes:
            cond = next((c for c in n.status.conditions or [] if c.type == "Ready"), None)
            ready = bool(cond and cond.status == "True")
            ok &= ready
            lines.append(f"node {n.metadata.name} Ready={cond.status if cond else 'unknown'}"
                         + ("" if ready else f" ({cond.reason if cond else ''}: {cond.message if cond else ''})"))
        if not nodes:
            ok = False
            lines.append("no nodes registered")
        if ok:
            return CheckResult("kubelet", "nodes_ready", "pass", "; ".join(lines), source="api")
        j = self.node.journal("kubelet", lines=200)
        errs = [ln for ln in j.splitlines() if _KLOG_ERR.search(ln)]
        ev = "\n".join(lines) + ("\nkubelet journal:\n" + _tail("\n".join(errs), 5) if errs else "")
        return CheckResult("kubelet", "nodes_ready", "fail", ev, source="api", match_text="\n".join(lines) + "\n" + j)

    # --- workloads -----------------------------------------------------------------------------
    def check_probe(self, cp_down: bool = False) -> CheckResult:
        if not self.probe:
            return CheckResult("scheduling", "probe_pod", "skip", "skipped (--no-probe-pod)", source="api")
        if not self.api_ok:
            return CheckResult("scheduling", "probe_pod", "fail", f"API server not reachable: {self.api_error}",
                               source="api")
        image = self.probe_image or default_probe_image(self.node)
        name = self.kube.create_probe_pod(image, self.namespace)
        deadline = min(self.probe_timeout, 20.0) if cp_down else self.probe_timeout
        t0 = time.monotonic()
        try:
            def probe() -> Observation:
                p = self.kube.pod(name, self.namespace)
                conds = {c.type: c.status for c in p.status.conditions or []}
                return Observation(p.status.phase == "Running" and bool(p.spec.node_name),
                                   f"pod {self.namespace}/{name} ({image}): phase={p.status.phase} "
                                   f"node={p.spec.node_name or '<none>'} PodScheduled={conds.get('PodScheduled', '<unset>')}")
            try:
                obs = wait_until(probe, f"probe pod {name} Running", deadline, interval=1)
                return CheckResult("scheduling", "probe_pod", "pass",
                                   f"{obs.text()} after {time.monotonic() - t0:.1f}s", source="api")
            except Exception as exc:  # noqa: BLE001
                last = getattr(exc, "last_seen", str(exc))
                evs = [f"{e.reason}: {e.message}" for e in self.kube.events_for(name, self.namespace)]
                ev = f"not Running within {deadline:.0f}s; last seen: {last}"
                if evs:
                    ev += "\nevents:\n" + "\n".join(evs[-4:])
                else:
                    ev += "\nno events for the pod (no scheduler has looked at it)"
                return CheckResult("scheduling", "probe_pod", "fail", ev, source="api", match_text=ev)
        finally:
            try:
                self.kube.delete_pod(name, self.namespace)
            except Exception:  # noqa: BLE001 - best effort; it is labelled kube-breakfix/probe=true
                pass

    def check_app(self, cp_down: bool = False) -> CheckResult:
        want = self.replicas
        if want is None:
            return CheckResult("app", "app_replicas", "skip", "skipped (no --replicas given)", source="api")
        if not self.api_ok:
            return CheckResult("app", "app_replicas", "fail", f"API server not reachable: {self.api_error}",
                               source="api")
        from kubernetes.client.exceptions import ApiException

        def seen() -> Observation:
            d = self.kube.deployment(self.app_name, self.namespace)
            spec, ready = d.spec.replicas or 0, d.status.ready_replicas or 0
            return Observation(spec == want and ready == want,
                               f"deployment {self.namespace}/{self.app_name}: spec.replicas={spec} "
                               f"replicas={d.status.replicas or 0} ready={ready} "
                               f"available={d.status.available_replicas or 0} (want {want} Ready)")
        try:
            obs = seen()
        except ApiException as exc:
            if exc.status == 404:
                return CheckResult("app", "app_replicas", "fail",
                                   f"deployment {self.namespace}/{self.app_name} not found", source="api")
            raise
        if obs.ok:
            return CheckResult("app", "app_replicas", "pass", obs.text(), source="api")
        d = self.kube.deployment(self.app_name, self.namespace)
        if (d.spec.replicas or 0) == want:   # asked for the right count: give the rollout a moment
            try:
                obs = wait_until(seen, f"{self.app_name} at {want} Ready replicas",
                                 min(self.app_timeout, 10.0) if cp_down else self.app_timeout, interval=2)
                return CheckResult("app", "app_replicas", "pass", obs.text(), source="api")
            except Exception as exc:  # noqa: BLE001
                obs = Observation(False, getattr(exc, "last_seen", str(exc)))
        pods = self.kube.pods(self.namespace, f"app={self.app_name}")
        phases = ", ".join(f"{p.metadata.name}={p.status.phase}/{p.spec.node_name or 'unscheduled'}" for p in pods)
        ev = obs.text() + f"\npods: {phases or 'none'}"
        return CheckResult("app", "app_replicas", "fail", ev, source="api", match_text=ev)

    # --- for `breakfix break`: is the component visibly down? ----------------------------------
    def component_down(self, comp: str) -> Observation:
        """Observation(ok=True once COMPONENT's health checks fail and the node shows why: an ended
        container, its error line or the kubelet's reason; for the kubelet, its unit or the node)."""
        if comp == "kubelet":   # the kubelet itself, the node it reports, or the static pods it runs
            rs = [self.check_kubelet()]
            if rs[0].passed and self.api_ok:
                rs.append(self.check_nodes())
            if not any(r.failed for r in rs):
                rs += [self.check_pod(c) for c in STATIC_COMPONENTS]
            down = [r for r in rs if r.failed]
            return Observation(bool(down), "\n".join(r.evidence for r in down or rs))
        r = self.check_pod(comp)
        if r.passed:
            return Observation(False, r.evidence)
        v = node_component(self.node, self.node_name, comp)
        shown = bool(v.error or v.kubelet_lines or (v.state and not v.running))
        return Observation(shown, "\n".join(v.proof() or [r.evidence]))
