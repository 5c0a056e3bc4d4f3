"""The engine's one node: `Lab`, a facade over its parts, each with one job (lab_settle, lab_inject,
lab_observe, lab_recover, lab_verify); runner.py runs them as a fault's cycle. Everything a fault
needs comes from its data file; nothing here knows a fault by name."""
from __future__ import annotations

from .errors import InfrastructureError
from .journal import Journal, host_journal
from .kube import STATIC_COMPONENTS, Kube
from .node import MANIFEST_DIR, WATCHED_PATHS, Node
from .pace import DEFAULT_PACE, Pace
from .report import Reporter
from .targets import cluster_of
from .waits import timeout
from .lab_inject import Inject, Injection
from .lab_observe import Observe
from .lab_recover import Recover
from .lab_settle import Settle
from .lab_verify import HOLD_FACTOR, Verify

__all__ = ["HOLD_FACTOR", "Injection", "Lab", "require_static_pod_manifest"]


class Lab(Settle, Inject, Observe, Recover, Verify):
    """One node of a cluster, driven through a fault's steps: each part (settle, inject, observe,
    recover, verify; lab_*.py) does one job on the state kept here; runner.py puts them in order."""

    def __init__(self, kube: Kube, node: Node, node_name: str, reporter: Reporter | None = None,
                 app_name: str = "app", app_image: str = "kube-breakfix/app:v1",
                 probe_image: str | None = None, namespace: str = "default",
                 timeout_scale: float | None = None, poll: float = 0.5, dwell: bool = True,
                 pace: str = DEFAULT_PACE):
        self.kube, self.node, self.node_name = kube, node, node_name
        self.pace = Pace(pace)    # driven | kubelet (pace.py)
        self.poll = poll          # seconds between two observations of an awaited reaction
        self.dwell = dwell        # False: no hold, no stability window (the benchmark's floor)
        self.calibration: dict | None = None
        self._settled: tuple | None = None   # kube-system's fingerprint when last seen settled
        self._fingerprint: tuple | None = None
        self._unconfirmed: tuple | None = None  # Ready once after a fix, window not yet confirmed
        self._last_backoff_clear = -1e9          # monotonic time of the last kubelet restart for it
        self.reporter = reporter or Reporter()
        self.app_name, self.app_image = app_name, app_image
        self.probe_image = probe_image or app_image
        self.namespace = namespace
        self.app_node: str | None = None   # the node `app` is pinned to (a lab's cluster.app.node)
        self.scale_factor = timeout_scale
        self.journal = Journal(node, kube, host=host_journal(cluster_of(node_name)))
        self._siblings: dict[str, Node | None] = {}   # the cluster's other nodes, by name (node_at)

    def t(self, name: str) -> float:
        return timeout(name, self.scale_factor)

    def node_at(self, name: str) -> Node | None:
        """The node NAME of the cluster (for what a fault breaks per node), or None when the
        transport cannot reach a node by its name."""
        if name == self.node_name:
            return self.node
        if name not in self._siblings:
            self._siblings[name] = self.node.sibling(name)
        return self._siblings[name]

    def intact(self, baseline: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """(problems, sha256 now): every watched node file against BASELINE (sha256 by path, taken
        at the start of the run) and nothing but manifests in the manifests directory."""
        after = self.node.checksums(WATCHED_PATHS)
        problems = [f"differs from before the run: {p}" for p in sorted(set(baseline) | set(after))
                    if baseline.get(p) != after.get(p)]
        stray = self.node.run(f"ls -A {MANIFEST_DIR} | grep -v '\\.yaml$'").stdout.split()
        problems += [f"stray file in {MANIFEST_DIR}: {n}" for n in stray]
        return problems, after


def require_static_pod_manifest(node: Node, component: str) -> None:
    if component in STATIC_COMPONENTS and not node.exists(f"{MANIFEST_DIR}/{component}.yaml"):
        raise InfrastructureError(f"node {node.spec}: {MANIFEST_DIR}/{component}.yaml not found")
