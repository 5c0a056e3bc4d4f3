"""What every command shares: the exit codes, the one-line error and warning on stderr, and where
to act (a kubeconfig and a node host spec, from options or a kind cluster; the node's writers' lock;
whether the API server answers)."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import BadInput

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_READONLY, EXIT_NOT_PUT_BACK, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
ROOT = Path(__file__).resolve().parents[2]


class UsageError(BadInput):
    pass


def err(msg: str) -> None:
    print(f"breakfix: error: {' '.join(str(msg).split())}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"breakfix: warning: {' '.join(str(msg).split())}", file=sys.stderr, flush=True)


# --- connecting ----------------------------------------------------------------------------------
def kind_binary() -> str:
    for cand in (os.environ.get("BREAKFIX_KIND_BIN"), str(ROOT / "airgap" / ".build" / "bin" / "kind"),
                 shutil.which("kind")):
        if cand and Path(cand).is_file():
            return cand
    raise UsageError("--cluster needs the kind binary: none in airgap/.build/bin or on PATH (or set BREAKFIX_KIND_BIN)")


def kind_get(what: str, cluster: str) -> subprocess.CompletedProcess:
    """`kind get WHAT --name CLUSTER`; its own last line of error as one UsageError."""
    try:
        r = subprocess.run([kind_binary(), "get", what, "--name", cluster], capture_output=True, text=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"kind get {what} --name {cluster}: {exc}") from None
    if r.returncode != 0:
        why = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        raise UsageError(f"kind cluster {cluster!r}: {why[-1] if why else f'kind get {what} failed'}")
    return r


class Target:
    """Where to act: a kubeconfig path and a node host spec (from options or a kind cluster)."""

    def __init__(self, args, need_kubeconfig: bool = True):
        self.kubeconfig: str | None = args.kubeconfig
        self.node: str | None = args.node
        self._tmp: str | None = None
        self._cleanups: list = []      # run by cleanup(), last first (the node's lock given back)
        if self.kubeconfig:
            from ..kube import check_kubeconfig
            check_kubeconfig(self.kubeconfig, "--kubeconfig")   # before anything connects
        if args.cluster:
            if not self.node:
                self.node = f"docker://{args.cluster}-control-plane"
            if not self.kubeconfig:
                try:
                    self.kubeconfig = self._kind_kubeconfig(args.cluster)
                except UsageError:
                    # `kind get kubeconfig` reads the load balancer's port: with it stopped (the
                    # ha-load-balancer-stopped fault) there is none. A restore that does not wait
                    # replays the node's and the host's journal without the API.
                    if need_kubeconfig:
                        raise
        if not self.node:
            raise UsageError("which cluster? give --node HOSTSPEC and --kubeconfig PATH, or --cluster NAME (kind)")
        if need_kubeconfig and not self.kubeconfig:
            raise UsageError("which API server? give --kubeconfig PATH (or --cluster NAME for a kind cluster)")

    def _kind_kubeconfig(self, name: str) -> str:
        r = kind_get("kubeconfig", name)
        fd, path = tempfile.mkstemp(prefix=f"breakfix-{name}-", suffix=".kubeconfig")
        with os.fdopen(fd, "w") as f:
            f.write(r.stdout)
        self._tmp = path
        return path

    def on_cleanup(self, fn) -> None:
        self._cleanups.append(fn)

    def cleanup(self) -> None:
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception as exc:  # noqa: BLE001 - e.g. the node away: its lock is stale once we exit
                warn(f"could not give the node's lock back ({exc}); the next writer takes it over")
        if self._tmp:
            Path(self._tmp).unlink(missing_ok=True)


def open_node(spec: str, sudo: bool):
    from ..node import Node
    n = Node(spec, sudo=sudo)
    n.ping()
    return n


def open_kube(kubeconfig: str):
    from ..kube import Kube
    return Kube(kubeconfig)


def take_lock(target, node, args, journal=None):
    """The node's writers' lock for this command (breakfix/lock.py), given back by target.cleanup().
    A lock whose holder is proven gone is taken over; with JOURNAL, what that holder changed is put
    back first."""
    from ..lock import NodeLock, replay_taken_over
    lk = NodeLock(node, getattr(args, "command_line", None) or f"breakfix {args.command}")
    lk.acquire(args.wait_lock)
    target.on_cleanup(lk.release)
    if lk.took_over:
        gone, why = lk.took_over
        warn(f"took over the lock of {gone.line()} on {node.spec}: {why}")
        if journal is not None:
            for line in replay_taken_over(journal, gone):
                print(f"put back what {gone.command!r} left: {line}")
    return lk


def _exc_line(exc: Exception) -> str:
    """One short line for an API client error (urllib3's MaxRetryError text is a paragraph)."""
    from ..kube import _exc_line as line
    text = " ".join(str(exc).split())
    m = re.search(r"Caused by (\w+)\((.*)", text)
    if m:
        inner = re.sub(r"<[^>]*>:\s*|\[[A-Z_: ]+\]\s*|\w+\(\d+, |[()'\"]|\w+\(", "", m.group(2)).strip(" ,)")
        return f"{m.group(1)}: {inner[:120]}"
    return line(exc)


def api_problem(kube) -> str | None:
    """None when the API server answers and the credentials may list nodes; else one line."""
    host = kube.api_client.configuration.host
    try:
        kube.server_version()
    except Exception as exc:  # noqa: BLE001
        status = getattr(exc, "status", None)
        if status in (401, 403):
            return f"bad credentials in {kube.kubeconfig}: the API server {host} answers {_exc_line(exc)}"
        return f"API server {host} not reachable: {_exc_line(exc)}"
    try:
        kube.node_names()
    except Exception as exc:  # noqa: BLE001
        status = getattr(exc, "status", None)
        if status == 401:
            return f"bad credentials in {kube.kubeconfig}: the API server {host} answers {_exc_line(exc)}"
        if status == 403:
            return f"the credentials in {kube.kubeconfig} may not list nodes ({_exc_line(exc)})"
        return f"API server {host} not reachable: {_exc_line(exc)}"
    return None


def _catalog(args):
    from ..catalog import load_catalog
    return load_catalog(args.faults_dir)


def _target_args(args) -> str:
    """The target options again, quoted for a shell (an ssh:// spec holds `?` and `&`)."""
    q = shlex.quote
    if args.cluster and not (args.kubeconfig or args.node):
        return f"--cluster {q(args.cluster)}"
    parts = []
    if args.kubeconfig:
        parts.append(f"--kubeconfig {q(args.kubeconfig)}")
    parts.append(f"--node {q(args.node or f'docker://{args.cluster}-control-plane')}")
    if args.cluster and not args.kubeconfig:
        parts.append(f"--cluster {q(args.cluster)}")
    return " ".join(parts + (["--sudo"] if args.sudo else []))


def _given_target(args) -> str:
    """The target options as given (none: nothing), with a leading space, for a command to run next."""
    if not (args.cluster or args.node or args.kubeconfig):
        return ""
    return " " + _target_args(args)
