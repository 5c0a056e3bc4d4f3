"""What every part of a grading run reads: the graded node, the API (or why it cannot be reached),
the probe's settings, the probe objects created, and a check run with its time. The node's name
(node_name_of) and the probe pod's image (default_probe_image) are read from the node itself."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import yaml

from ..errors import BreakfixError
from ..kube import STATIC_COMPONENTS
from ..node import MANIFEST_DIR, Node
from ..waits import Observation
from .results import CheckResult


def node_name_of(node: Node) -> str:
    """The Kubernetes node name of the graded node. The kubelet names a static pod after its
    manifest's metadata.name and the node (`<metadata.name>-<node>`): a kube-system pod sandbox whose
    config source is a file (crictl's kubernetes.io/config.source annotation) and whose name is a
    control-plane manifest's metadata.name (read from the manifest) followed by `-` gives it. The
    hostname when there is none."""
    r = node.crictl("pods -o json")
    if r.ok:
        names = set()
        for data in node.read_many([f"{MANIFEST_DIR}/{c}.yaml" for c in STATIC_COMPONENTS]).values():
            try:
                md = (yaml.safe_load(data or b"") or {}).get("metadata") or {}
            except (yaml.YAMLError, AttributeError):
                continue
            if isinstance(md, dict) and isinstance(md.get("name"), str):
                names.add(md["name"])
        for item in json.loads(r.stdout or "{}").get("items") or []:
            md, ann = item.get("metadata") or {}, item.get("annotations") or {}
            if md.get("namespace") != "kube-system" or ann.get("kubernetes.io/config.source") != "file":
                continue
            pod = md.get("name", "")
            for name in sorted(names, key=len, reverse=True):
                if pod.startswith(name + "-") and len(pod) > len(name) + 1:
                    return pod[len(name) + 1:]
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


def tail(text: str, n: int) -> str:
    return "\n".join(ln for ln in text.strip().splitlines()[-n:])


@dataclass
class GradeContext:
    """The graded node and the API as the grader reaches them. API_ERROR: why the API cannot be used
    (None: it can). PROBE: whether a probe may create objects (CREATED: the ones it created), with
    PROBE_IMAGE (None: the node's pause image) and PROBE_TIMEOUT. NODE_API: /readyz as asked on the
    node, when the grader cannot reach the API. REPORTER: told each check's time."""
    node: Node
    kube: object
    node_name: str
    api_error: str | None = None
    probe: bool = True
    probe_image: str | None = None
    probe_timeout: float = 0.0
    reporter: object = None
    node_api: Observation | None = None
    created: list[str] = field(default_factory=list)

    @property
    def api_ok(self) -> bool:
        return self.kube is not None and self.api_error is None

    def image(self) -> str:
        return self.probe_image or default_probe_image(self.node)

    def report(self, r: CheckResult) -> None:
        if self.reporter is not None:
            self.reporter.timing(f"check {r.id}", r.seconds)

    def timed(self, component: str, kind: str, fn) -> CheckResult:
        """FN's result with its time; a check that raises is a failed check, with the reason."""
        t = time.monotonic()
        try:
            r = fn()
        except BreakfixError as exc:
            r = CheckResult(component, kind, "fail", str(exc))
        except Exception as exc:  # noqa: BLE001 - a check that cannot run is a failed check, with the reason
            line = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
            r = CheckResult(component, kind, "fail", f"check could not run: {line}")
        r.seconds = time.monotonic() - t
        self.report(r)
        return r
