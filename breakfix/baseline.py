"""What the node's files should be, to find the changed line: in this order, the backup a
`breakfix break` (or an interrupted run) left, and a snapshot `breakfix snapshot` took on the
healthy cluster. Read-only, except `take_snapshot`, which writes only under SNAPSHOT_DIR (outside
/etc/kubernetes: the kubelet never sees it)."""
from __future__ import annotations

from .journal import Journal, JournalError
from .kube import STATIC_COMPONENTS
from .node import MANIFEST_DIR, Node

KUBELET_FILES = ("/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/kubeadm-flags.env")
DIAGNOSED_FILES = tuple(f"{MANIFEST_DIR}/{c}.yaml" for c in STATIC_COMPONENTS) + KUBELET_FILES
SNAPSHOT_DIR = "/var/lib/kube-breakfix/snapshot"


def part_of(path: str) -> str:
    """The part of the cluster a node file configures."""
    if path.startswith(MANIFEST_DIR + "/"):
        return path[len(MANIFEST_DIR) + 1:].removesuffix(".yaml")
    return "kubelet"


def snapshot_path(path: str) -> str:
    return SNAPSHOT_DIR + path


def read_baselines(node: Node) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """{path: (baseline text, where it came from)} for every diagnosed file that has one, and the
    notes of what could not be used (a corrupt journal is said, never taken as no baseline)."""
    out: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    try:
        for e in Journal(node).entries():
            if e.path in DIAGNOSED_FILES and e.backup and node.exists(e.backup):
                out[e.path] = (node.read_bytes(e.backup).decode("utf-8", "replace"), "backup")
    except JournalError as exc:
        notes.append(f"backups not used: {exc}")
    have = set(node.list_files_under(SNAPSHOT_DIR))
    for path in DIAGNOSED_FILES:
        if path not in out and snapshot_path(path) in have:
            out[path] = (node.read_bytes(snapshot_path(path)).decode("utf-8", "replace"), "snapshot")
    return out, notes


def take_snapshot(node: Node) -> list[str]:
    """Copy every diagnosed file that exists into SNAPSHOT_DIR; returns the files copied."""
    node.make_private_dir(SNAPSHOT_DIR)
    done = []
    for path in DIAGNOSED_FILES:
        if node.exists(path):
            node.make_private_dir(snapshot_path(path).rsplit("/", 1)[0])
            node.copy_file(path, snapshot_path(path))
            done.append(path)
    return done
