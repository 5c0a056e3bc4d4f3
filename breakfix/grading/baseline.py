"""What the node's files should be, to find the changed line: in this order, the backup a
`breakfix break` (or an interrupted run) left; what kubeadm itself renders for this cluster from its
own configuration (the static pod manifests: `kubeadm init phase control-plane all` and `etcd local`
with --dry-run, into a temporary directory outside /etc/kubernetes); and a snapshot `breakfix
snapshot` took on the healthy cluster. Read-only, except `take_snapshot`, which writes only under
SNAPSHOT_DIR (outside /etc/kubernetes: the kubelet never sees it)."""
from __future__ import annotations

import base64
import re

import yaml

from ..journal import Journal, JournalError
from ..kube import STATIC_COMPONENTS
from ..node import MANIFEST_DIR, Node
from .kubeconfig import KUBECONFIGS

KUBELET_FILES = ("/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/kubeadm-flags.env")
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
COMPONENT_KUBECONFIGS = ("/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf")
DIAGNOSED_FILES = tuple(f"{MANIFEST_DIR}/{c}.yaml" for c in STATIC_COMPONENTS) + KUBELET_FILES + COMPONENT_KUBECONFIGS
# What kubeadm renders for each kubeconfig (`kubeadm init phase kubeconfig <phase>`).
KUBECONFIG_PHASES = {"/etc/kubernetes/controller-manager.conf": "controller-manager",
                     "/etc/kubernetes/scheduler.conf": "scheduler", "/etc/kubernetes/kubelet.conf": "kubelet"}
SNAPSHOT_DIR = "/var/lib/kube-breakfix/snapshot"
# The cluster's own kubeadm configuration on the node (kind writes it at cluster creation).
KUBEADM_CONFIGS = ("/kind/kubeadm.conf", "/etc/kubernetes/kubeadm-config.yaml")
# kubeadm writes dry-run output under /etc/kubernetes/tmp unless KUBEADM_INIT_DRYRUN_DIR says
# otherwise: only a kubeadm that honours it (checked here: 1.30 and later) is asked.
MIN_KUBEADM_MINOR = 30


def part_of(path: str) -> str:
    """The part of the cluster a node file configures."""
    if path.startswith(MANIFEST_DIR + "/"):
        return path[len(MANIFEST_DIR) + 1:].removesuffix(".yaml")
    return KUBECONFIGS.get(path, "kubelet")


def snapshot_path(path: str) -> str:
    return SNAPSHOT_DIR + path


def read_baselines(node: Node, kube=None) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """{path: (baseline text, where it came from)} for every diagnosed file that has one, and the
    notes of what could not be used (a corrupt journal is said, never taken as no baseline).
    In this order: the backup `breakfix break` left; what kubeadm renders (static pod manifests and
    kubeconfigs); the kubelet's configuration as kubeadm keeps it for the cluster (the
    kube-system/kubelet-config ConfigMap, through KUBE when the API answers); a snapshot."""
    out: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    try:
        for e in Journal(node).entries():
            if e.path in DIAGNOSED_FILES and e.backup and node.exists(e.backup):
                out[e.path] = (node.read_bytes(e.backup).decode("utf-8", "replace"), "backup")
    except JournalError as exc:
        notes.append(f"backups not used: {exc}")
    if any(p not in out for p in DIAGNOSED_FILES[:len(STATIC_COMPONENTS)] + tuple(KUBECONFIG_PHASES)):
        for path, text in kubeadm_render(node, notes).items():
            out.setdefault(path, (text, "kubeadm"))
    if KUBELET_CONFIG not in out and kube is not None:
        text = kubelet_configmap(kube, notes, node)
        if text is not None:
            out[KUBELET_CONFIG] = (text, "kubelet-config ConfigMap")
    have = set(node.list_files_under(SNAPSHOT_DIR))
    for path in DIAGNOSED_FILES:
        if path not in out and snapshot_path(path) in have:
            out[path] = (node.read_bytes(snapshot_path(path)).decode("utf-8", "replace"), "snapshot")
    return out, notes


def kubeadm_render(node: Node, notes: list[str]) -> dict[str, str]:
    """The static pod manifests kubeadm renders from the cluster's own configuration, or {} (with a
    note) when there is no configuration or no suitable kubeadm on the node."""
    cfg = next((c for c in KUBEADM_CONFIGS if node.exists(c)), None)
    if cfg is None:
        return {}
    version = node.run("kubeadm version -o short").stdout.strip()
    m = re.match(r"v1\.(\d+)\.", version)
    if not m or int(m.group(1)) < MIN_KUBEADM_MINOR:
        notes.append(f"kubeadm {version or 'not found'} on the node: its dry-run is not asked (needs v1.{MIN_KUBEADM_MINOR}+)")
        return {}
    out = node.run(
        "d=$(mktemp -d /tmp/breakfix-kubeadm.XXXXXX) && export KUBEADM_INIT_DRYRUN_DIR=$d && "
        f"kubeadm init phase control-plane all --config {cfg} --dry-run >/dev/null 2>&1 && "
        f"kubeadm init phase etcd local --config {cfg} --dry-run >/dev/null 2>&1; "
        # kubeadm's dry-run looks for the CA in its own directory: links, no copy of the key
        "ln -s /etc/kubernetes/pki/ca.crt /etc/kubernetes/pki/ca.key \"$d\"/ 2>/dev/null; "
        + "".join(f"kubeadm init phase kubeconfig {phase} --config {cfg} --dry-run >/dev/null 2>&1; "
                  for phase in KUBECONFIG_PHASES.values()) +
        "for f in $d/*.conf; do test -f \"$f\" && echo \"$(basename \"$f\") $(base64 -w0 \"$f\")\"; done; "
        "for f in $d/*.yaml; do test -f \"$f\" && echo \"$(basename \"$f\") $(base64 -w0 \"$f\")\"; done; rm -rf \"$d\"",
        timeout=90)
    rendered = {}
    for line in out.stdout.splitlines():
        name, _, b64 = line.partition(" ")
        path = f"/etc/kubernetes/{name}" if name.endswith(".conf") else f"{MANIFEST_DIR}/{name}"
        if path in DIAGNOSED_FILES and b64:
            rendered[path] = base64.b64decode(b64).decode("utf-8", "replace")
    if not rendered:
        notes.append(f"kubeadm rendered nothing from {cfg} (exit {out.rc})")
    return rendered


def kubelet_configmap(kube, notes: list[str], node: Node | None = None) -> str | None:
    """The KubeletConfiguration kubeadm keeps for the cluster (kube-system/kubelet-config, key
    `kubelet`): what every node's /var/lib/kubelet/config.yaml is written from, with what kubeadm
    writes for this node on top (its nodeRegistration.criSocket as containerRuntimeEndpoint, from the
    cluster's kubeadm configuration on the node)."""
    try:
        cm = kube.core.read_namespaced_config_map("kubelet-config", "kube-system", _request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - no API, no ConfigMap: said, not guessed
        notes.append(f"kube-system/kubelet-config not read ({type(exc).__name__}): the kubelet's config has no "
                     f"kubeadm baseline")
        return None
    text = (cm.data or {}).get("kubelet")
    if text is None or node is None:
        return text
    try:
        doc = yaml.safe_load(text)
        cfg = next((c for c in KUBEADM_CONFIGS if node.exists(c)), None)
        socket = None
        for d in yaml.safe_load_all(node.read_bytes(cfg)) if cfg else []:
            if isinstance(d, dict) and d.get("kind") in ("InitConfiguration", "JoinConfiguration"):
                socket = (d.get("nodeRegistration") or {}).get("criSocket") or socket
        if isinstance(doc, dict) and socket and not doc.get("containerRuntimeEndpoint"):
            doc["containerRuntimeEndpoint"] = socket
            return yaml.safe_dump(doc, sort_keys=False)
    except (yaml.YAMLError, Exception):  # noqa: BLE001 - the ConfigMap as it is
        pass
    return text


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
