"""`breakfix list | break FAULT | check | restore`: the engine on the command line, for lab
authors (break, restore) and graders (check) working on a cluster they did not create.

Exit codes: 0 success / every check passed; 1 a check failed, or `break` failed after changing the
node and put it back, or `restore` left a fault in place; 2 an error the user can fix, and nothing
on the node changed (bad option, unknown fault, bad fault file, kubeconfig, node or API server not
usable); 3 grading changed a file on the node (must never happen); 4 `break` failed after changing
the node and could not put it back (the journal is kept: run `breakfix restore`); 130 interrupted.
Every error is one line on stderr: `breakfix: error: ...`."""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import BadInput, BreakfixError, ClusterUnavailable, InfrastructureError, UnknownFault, WaitTimeout

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_READONLY, EXIT_NOT_PUT_BACK, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
ROOT = Path(__file__).resolve().parent.parent


class UsageError(BadInput):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(f"{message} (see `breakfix {self.prog.split()[-1] if ' ' in self.prog else ''} --help`)"
                         .replace("breakfix  --help", "breakfix --help").replace("breakfix breakfix", "breakfix"))


def _positive_seconds(text: str) -> float:
    """argparse type: a positive finite number of seconds (not 0, -5, inf or nan)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive finite number of seconds")
    return value


def _wait_seconds(text: str) -> float:
    """argparse type: seconds to wait, 0 or more and finite."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    g = common.add_argument_group("cluster")
    g.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig of the cluster (existing-cluster mode)")
    g.add_argument("--node", metavar="HOSTSPEC",
                   help="testinfra host spec of the control-plane node: ssh://user@host, docker://NAME, local://")
    g.add_argument("--cluster", metavar="NAME",
                   help="a kind cluster: kubeconfig from `kind get kubeconfig --name NAME`, "
                        "node docker://NAME-control-plane (unless --kubeconfig/--node are given)")
    g.add_argument("--sudo", action="store_true", help="run node commands with sudo (ssh as a non-root user)")
    g.add_argument("--faults-dir", metavar="DIR", help="fault catalog directory (default: the project's faults/)")
    g.add_argument("--timeout-scale", type=_positive_seconds, metavar="F",
                   help="multiply every wait's timeout, as the suite's --timeout-scale (env BREAKFIX_TIMEOUT_SCALE; "
                        "BREAKFIX_TIMEOUT_<NAME> seconds per wait)")
    lock_opt = _Parser(add_help=False)
    lock_opt.add_argument("--wait-lock", type=_wait_seconds, default=0.0, metavar="SECONDS",
                          help="when another writer (break, restore, lab setup/reset, the suite) holds the node's "
                               "lock, wait up to SECONDS for it (default 0: refuse at once, naming the holder)")

    p = _Parser(prog="breakfix", description="Break a Kubernetes control plane on purpose, grade it, restore it.")
    sub = p.add_subparsers(dest="command", metavar="{list,break,check,snapshot,restore,lab}", parser_class=_Parser)
    sub.required = True

    ls = sub.add_parser("list", help="print the fault catalog", description="Print the fault catalog.")
    ls.add_argument("--faults-dir", metavar="DIR", help="fault catalog directory")
    ls.add_argument("--json", action="store_true", help="as JSON")

    br = sub.add_parser("break", parents=[common, lock_opt], help="set a lab up: inject FAULT and leave it in place",
                        description="Inject FAULT on the node (backup kept in /var/lib/kube-breakfix/backups) "
                                    "and wait until it shows. `breakfix restore` undoes it.")
    br.add_argument("fault", metavar="FAULT", help="fault id (see `breakfix list`)")
    br.add_argument("--pace", choices=("driven", "kubelet"), default="driven",
                    help="driven (default): stop what the kubelet replaces of etcd and the API server with no "
                         "grace; kubelet: wait for the kubelet's own pace")

    ck = sub.add_parser("check", parents=[common, lock_opt], help="grade the cluster (read-only)",
                        description="Grade the cluster: every component judged by what it does (functional probes), "
                                    "the node's files against their baselines, evidence, root cause, weighted score. "
                                    "Exit 0 only when every check passes.")
    ck.add_argument("--replicas", type=int, metavar="N", help="the `app` deployment must have N Ready replicas")
    ck.add_argument("--app-name", default="app", help="name of the app deployment (default: app)")
    ck.add_argument("--namespace", default="default", help="namespace of the app (the probes use their own, "
                                                           "kube-breakfix-probes)")
    ck.add_argument("--no-probe-pod", action="store_true",
                    help="create no probe object (no pod, Deployment, Service or ConfigMap): grading then writes "
                         "nothing at all, and judges only by what it can read")
    ck.add_argument("--strict", action="store_true",
                    help="a changed line while every check passes (a WARN line) fails the grade (exit 1)")
    ck.add_argument("--probe-image", help="image of the test pod (default: the pause image on the node)")
    ck.add_argument("--probe-timeout", type=_positive_seconds, default=None, metavar="S",
                    help="how long the test pod may take to run (default: the suite's `schedule` timeout, 90 s "
                         "x --timeout-scale)")
    ck.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    ck.add_argument("--force", action="store_true",
                    help="grade even while a writer (a break, the suite) holds the node's lock (refused otherwise: "
                         "it would grade a change in progress)")
    ck.add_argument("--junit", metavar="FILE", help="also write the result as JUnit XML to FILE")
    ck.add_argument("--alluredir", metavar="DIR",
                    help="also write the result as Allure results into DIR (`python -m breakfix.report_html DIR "
                         "OUT` makes the single-file HTML report)")

    sn = sub.add_parser("snapshot", parents=[common], help="keep a copy of the healthy node's files as the baseline",
                        description="Copy the static pod manifests and the kubelet's files into "
                                    "/var/lib/kube-breakfix/snapshot on the node (outside /etc/kubernetes), after "
                                    "checking the cluster is healthy. `check` compares against it to print the "
                                    "changed line of a fault nobody wrote down.")
    sn.add_argument("--force", action="store_true", help="take it even when the cluster is not healthy")

    lb = sub.add_parser("lab", help="labs (labs/*.yaml): list, set a step up, grade a step, reset",
                        description="A lab is a data file (labs/<id>.yaml): ordered steps, each a fault, what the "
                                    "learner sees and what \"fixed\" means.")
    lsub = lb.add_subparsers(dest="lab_command", metavar="{list,setup,check,hint,reset,export}", parser_class=_Parser)
    lsub.required = True
    labs_opt = _Parser(add_help=False)
    labs_opt.add_argument("--labs-dir", metavar="DIR", help="lab directory (default: the project's labs/)")
    ll = lsub.add_parser("list", parents=[labs_opt], help="print the labs and their steps",
                         description="Print the labs and their steps.")
    ll.add_argument("--faults-dir", metavar="DIR", help="fault catalog directory")
    ll.add_argument("--json", action="store_true", help="as JSON")
    step_opt = _Parser(add_help=False)
    step_opt.add_argument("lab", metavar="LAB", help="lab id (see `breakfix lab list`)")
    step_opt.add_argument("--step", type=int, required=True, metavar="N", help="the step, 1 for the first")
    lsu = lsub.add_parser("setup", parents=[common, labs_opt, step_opt, lock_opt],
                          help="set step N of LAB up (read-write): the app as the step starts, its fault, its symptoms",
                          description="Scale the app to where step N starts, inject the step's fault (backup and "
                                      "journal on the node, as `break`), and prove what the learner sees. "
                                      "`breakfix lab reset` (or `restore`) undoes it.")
    lsu.add_argument("--pace", choices=("driven", "kubelet"), default="driven",
                     help="driven (default): stop what the kubelet replaces of etcd and the API server with no "
                          "grace; kubelet: wait for the kubelet's own pace")
    lsu.add_argument("--app-image", default=None,
                     help="image of the app deployment when it has to be created (default: kube-breakfix/app:v1)")
    lck = lsub.add_parser("check", parents=[common, labs_opt, step_opt],
                          help="grade step N of LAB (read-only): its \"fixed\" criteria and the health checks",
                          description="Grade step N: the step's \"fixed\" criteria (app replicas, a new pod "
                                      "schedules) plus every health check of `check`, with the same verdicts and "
                                      "exit codes (0 pass, 1 fail, 2 could not grade, 3 read-only violation).")
    for a in ck._actions:   # the same grading options as `check`, bar what the lab decides
        if a.dest in ("namespace", "probe_image", "probe_timeout", "json", "junit", "alluredir", "force", "wait_lock",
                      "strict"):
            lck._add_action(a)
    lhn = lsub.add_parser("hint", parents=[common, labs_opt, step_opt],
                          help="give the next hint of step N of LAB (one at a time; nothing on the cluster)",
                          description="Print the next hint of step N not given yet and remember it (in "
                                      "~/.cache/kube-breakfix/hints/<cluster>/<lab>-<step>, $XDG_CACHE_HOME "
                                      "honoured), so that `lab check` shows the hints asked for so far. Give the "
                                      "same cluster options as to `lab check` (they name the cluster, nothing "
                                      "connects to it). Once every hint was given, all of them are printed again.")
    lhn.add_argument("--number", type=int, metavar="K", help="print hint K (and count it as given)")
    lhn.add_argument("--forget", action="store_true", help="forget the hints given for this step")
    lck.add_argument("--reveal", action="store_true",
                     help="show the full grade (evidence, diagnosis: the changed line, its baseline and the "
                          "catalog's remediation) as `check` does, for the lab's author or grader; by default "
                          "the learner sees what is still wrong in their words and the hints asked for")
    lex = lsub.add_parser("export", parents=[labs_opt],
                          help="write LAB as a scenario for a learning platform (Killercoda) into DIR",
                          description="Write LAB as a Killercoda scenario into DIR (new or empty): index.json, "
                                      "intro.md, a setup script that installs kube-breakfix and sets step 1 up, "
                                      "per step its text, a background script setting it up (from step 2) and a "
                                      "verify script running `breakfix lab check LAB --step N`, finish.md.")
    lex.add_argument("lab", metavar="LAB", help="lab id (see `breakfix lab list`)")
    lex.add_argument("directory", metavar="DIR", help="where to write the scenario (new or empty)")
    lex.add_argument("--format", required=True, metavar="FORMAT", help="killercoda")
    lex.add_argument("--faults-dir", metavar="DIR", help="fault catalog directory")
    lex.add_argument("--target", metavar="ARGS", default=None,
                     help="the cluster options the scripts give breakfix (default: --kubeconfig "
                          "/root/.kube/config --node local://, the platform's machine is the node)")
    lex.add_argument("--install", metavar="SPEC", default=None,
                     help="what the setup script installs with pip (default: the project's git repository)")
    lex.add_argument("--imageid", metavar="ID", default=None,
                     help="the platform's machine (backend.imageid; default: kubernetes-kubeadm-1node)")
    lex.add_argument("--app-image", metavar="IMAGE", default=None,
                     help="image of the app deployment on that machine (default: registry.k8s.io/pause:3.10.1)")
    lrs = lsub.add_parser("reset", parents=[common, labs_opt, lock_opt],
                          help="undo a lab setup: restore every backup on the node, the app as the lab starts",
                          description="Restore every fault `lab setup` (or `break`, or a killed run) left on the "
                                      "node, wait until the control plane is Ready, and with LAB scale the app "
                                      "back to where the lab starts.")
    lrs.add_argument("lab", metavar="LAB", nargs="?", help="lab id: also scale the app back to its start")
    lrs.add_argument("--app-image", default=None,
                     help="image of the app deployment when it has to be created (default: kube-breakfix/app:v1)")

    rs = sub.add_parser("restore", parents=[common, lock_opt], help="put back every backup found on the node(s)",
                        description="Restore every fault `breakfix break` (or a killed run) left on the node, "
                                    "or with --cluster (and no --node) on every node of the kind cluster.")
    rs.add_argument("--no-wait", action="store_true", help="do not wait for the control plane to be Ready again")
    rs.add_argument("--pace", choices=("driven", "kubelet"), default="driven",
                    help="driven (default): stop what the kubelet replaces of etcd and the API server with no "
                         "grace; kubelet: wait for the kubelet's own pace")
    return p


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
            from .kube import check_kubeconfig
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
    from .node import Node
    n = Node(spec, sudo=sudo)
    n.ping()
    return n


def open_kube(kubeconfig: str):
    from .kube import Kube
    return Kube(kubeconfig)


def take_lock(target, node, args, journal=None):
    """The node's writers' lock for this command (breakfix/lock.py), given back by target.cleanup().
    A lock whose holder is proven gone is taken over; with JOURNAL, what that holder changed is put
    back first."""
    from .lock import NodeLock, replay_taken_over
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


def refuse_while_locked(node, args) -> None:
    """`check`: no grading while a writer holds the node's lock (it would grade a change in
    progress): wait up to --wait-lock, then refuse naming the holder, unless --force."""
    from .lock import LockHeld, NodeLock
    from .waits import Observation, wait_until
    watcher = NodeLock(node, "breakfix check")
    last: list = [None]

    def free() -> Observation:
        last[0] = got = watcher.live_holder()
        return Observation(got is None or got[1] is not None, got[0].line() if got else "free")
    try:
        wait_until(free, "the node's lock free", 0.0 if args.force else args.wait_lock, interval=1.0)
    except WaitTimeout:
        if last[0] is None:
            raise
        h = last[0][0]
        if args.force:
            warn(f"{node.spec} is locked by {h.line()}; grading anyway (--force)")
            return
        waited = f"waited {args.wait_lock:g}s" if args.wait_lock else "did not wait"
        raise LockHeld(f"{node.spec} is locked by {h.line()}: grading now would grade a change in progress; "
                       f"nothing graded ({waited}; --wait-lock SECONDS waits, --force grades anyway)") from None
    if last[0] is not None:
        warn(f"the lock of {last[0][0].line()} is stale ({last[0][1]}): a killed run may have left changes; "
             f"`breakfix restore` puts them back")


def _exc_line(exc: Exception) -> str:
    """One short line for an API client error (urllib3's MaxRetryError text is a paragraph)."""
    from .kube import _exc_line as line
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
    from .catalog import load_catalog
    return load_catalog(args.faults_dir)


# --- commands ------------------------------------------------------------------------------------
def cmd_list(args) -> int:
    faults = _catalog(args)
    if args.json:
        print(json.dumps([{"id": f.id, "component": f.component, "title": f.title, "severity": f.severity,
                           "reference_lab": f.reference_lab, "api_down": f.api_down} for f in faults.values()],
                         indent=2))
        return EXIT_OK
    from .catalog import table
    print("\n".join(table(faults, lab_column=True)))
    return EXIT_OK


def _open_for_fault(target, args, fault):
    """(kube, node, node name, the node file FAULT changes or None) of a target about to be broken:
    the API answers, the node is reachable, the component's manifest and the target file exist;
    otherwise one clear error and nothing changed."""
    from .grading import node_name_of
    from .lab import require_static_pod_manifest
    from .node import MANIFEST_DIR

    kube = open_kube(target.kubeconfig)
    node = open_node(target.node, args.sudo)
    problem = api_problem(kube)
    if problem:
        raise ClusterUnavailable(f"{problem}; nothing changed")
    node_name = node_name_of(node)
    node, node_name = _fault_node(kube, node, node_name, fault)
    require_static_pod_manifest(node, fault.component)
    path = f"{MANIFEST_DIR}/{fault.target.path}" if fault.target.kind == "manifest" else getattr(fault.target, "path", None)
    # A file_created target's path must not exist yet (its strategy checks that, and its source).
    if path and fault.target.kind != "file_created" and not node.exists(path):
        raise InfrastructureError(f"node {node.spec}: {path} not found; nothing changed")
    return kube, node, node_name, path


def _changed(t) -> str:
    """What a target with no node file changed, from its own fields."""
    if t.kind == "service":
        return f"systemctl {t.action} {t.unit}"
    return f"{t.kind} " + ", ".join(f"{k} {v}" for k, v in t.model_dump(exclude={"kind"}, exclude_none=True).items())


def _fault_node(kube, node, node_name: str, fault):
    """(node, its name) where FAULT is set up: NODE, or for a fault on a worker (`node: worker-N`) that
    worker, reached as NODE's sibling (a kind cluster's node by its name); one line when it cannot be."""
    from .shapes import resolve_node
    sel = fault.nodes[0]
    if not sel.startswith("worker"):
        return node, node_name
    name = resolve_node(kube, sel)
    if name == node_name:
        return node, node_name
    other = node.sibling(name)
    if other is None:
        raise UsageError(f"{fault.id} is set up on node {sel} ({name}), which {node.spec} is not: give that "
                         f"node's --node HOSTSPEC (or --cluster NAME for a kind cluster)")
    other.ping()
    return other, name


def cmd_break(args) -> int:
    from .catalog import select
    from .grading import Grader
    from .lab import Lab
    from .report import TextReporter
    from .runner import run_cycle
    from .waits import timeout, wait_until

    catalog = _catalog(args)
    fault = select(catalog, [args.fault])[0]
    target = Target(args)
    try:
        kube, node, node_name, path = _open_for_fault(target, args, fault)
        lab = Lab(kube, node, node_name, reporter=TextReporter(), pace=args.pace)
        take_lock(target, node, args, lab.journal)
        for e in lab.leftovers():
            if e.fault == fault.id:
                raise UsageError(f"{fault.id} is already set up on {node.spec} (backup {e.backup}); "
                                 f"run `breakfix restore` first")
            if path and e.path == path:
                raise UsageError(f"{e.fault} already changed {path} on {node.spec}; run `breakfix restore` first")
        # The runner's cycle without settle, fix and verify: the fault stays (backup + journal on the
        # node: `breakfix restore` undoes it). Its symptoms step: the component shows the fault.
        shown = ["the component stays Ready by design (the fault is in what it does)"]

        def visible_down(c) -> None:
            if any(s["kind"] == "component_ready" for s in fault.symptoms):
                return
            inj = c.injection
            grader = Grader(node, kube, node_name, catalog, probe=False)
            def visible():   # down, and the node shows why: the edited pod's own evidence, not an older pod's
                return grader.component_down(fault.component, exclude_uid=inj.before_uid, since_ns=inj.since_ns)
            deadline = timeout("node_not_ready" if fault.component == "kubelet" else "symptom")
            try:
                with lab.reporter.step(f"wait: {fault.component} shows the fault"):
                    shown[0] = wait_until(visible, f"{fault.component} shows the fault", deadline, interval=1).text()
            except WaitTimeout as exc:
                warn(f"{fault.id} is in place but not visible yet: {exc.last_seen[:200]}")
                shown[0] = f"(not visible yet) {exc.last_seen}"

        undo, code = [], []
        try:
            inj = run_cycle([lab], fault, undo.append, settle=None, symptoms=visible_down, fix=None, verify=None,
                            cleanup=_break_cleanup(undo, code, node.spec, args)).injection
        except (Exception, KeyboardInterrupt):
            if code:
                return code[0]
            raise
        shown = shown[0]
        print(f"broke {fault.id} on {node.spec} (node {node_name}): {fault.title}")
        if path:
            print(f"  changed: {path}")
            print(f"  backup:  {inj.backup_path}")
        else:
            print(f"  changed: {_changed(fault.target)}")
        print(f"  journal: {inj.entry.file}")
        first = [ln for ln in shown.strip().splitlines() if ln.strip()][:3]
        print("  now:     " + "\n           ".join(ln[:300] for ln in first))
        print("  undo:    breakfix restore " + _target_args(args))
        return EXIT_OK
    finally:
        target.cleanup()


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


def _break_cleanup(undo, code: list, spec: str, args, then=None):
    """The runner's cleanup for `break` and `lab setup`: on success the fault stays, unmeasured (its
    symptoms' probes, e.g. an API monitor's thread, stop now, not mid-request while the interpreter
    exits); on a failure after the journal was written, the undo runs now and CODE gets the exit
    code that says what happened to the node (_undo_failed_break). THEN(cycle, error) after that."""
    from .symptoms import stop_monitors

    def cleanup(c, error) -> None:
        if error is None:
            for inj in c.injections:
                stop_monitors(inj)
        elif undo:
            code.append(_undo_failed_break(undo[0], error, spec, args))
        if then is not None:
            then(c, error)
    return cleanup


def _undo_failed_break(undo, exc: BaseException, spec: str, args) -> int:
    """`break` failed after its journal was written: put the node back now, and say by the exit
    code what happened to it (2: nothing had changed, 1: changed and put back, 4: changed and NOT
    put back)."""
    why = "interrupted" if isinstance(exc, KeyboardInterrupt) else " ".join(str(exc).split())[:300]
    changed = undo.injection.changed
    try:
        undo(wait=False)
    except Exception as again:  # noqa: BLE001
        err(f"break failed after changing {spec} ({why}) and the undo failed too: {again}; the journal is kept: "
            f"run `breakfix restore {_target_args(args)}`")
        return EXIT_NOT_PUT_BACK
    if not changed:
        err(f"{why}; nothing changed")
        return EXIT_ERROR
    err(f"break failed after changing {spec} ({why}); put back byte for byte from its backup")
    return EXIT_FAILED


def kind_node_specs(cluster: str) -> list[str]:
    """docker://NAME of every Kubernetes node of the kind cluster, the first control plane first
    (kind's own list: it needs no API, so a restore works while the API is what is broken; kind's
    load balancer is a container of the cluster but no node: its role label says so)."""
    names = sorted(kind_get("nodes", cluster).stdout.split())
    if not names:
        raise UsageError(f"kind cluster {cluster!r}: no nodes")
    roles = subprocess.run(["docker", "inspect", "-f", '{{index .Config.Labels "io.x-k8s.kind.role"}}', *names],
                           capture_output=True, text=True, timeout=60)
    role = dict(zip(names, roles.stdout.split())) if roles.returncode == 0 else {}
    nodes = [n for n in names if role.get(n, "control-plane") != "external-load-balancer"]
    first = f"{cluster}-control-plane"
    return [f"docker://{n}" for n in sorted(nodes, key=lambda n: (n != first, n))]


def cmd_restore(args) -> int:
    """Replay the journal of the node (--node), or of every node of a kind cluster (--cluster
    without --node), and the host's; then wait until each restored node's control plane is Ready."""
    from .journal import JournalError

    target = Target(args, need_kubeconfig=not args.no_wait)
    try:
        kube = open_kube(target.kubeconfig) if target.kubeconfig else None
        specs = kind_node_specs(args.cluster) if args.cluster and not args.node else [target.node]
        if not getattr(args, "lock_held", False):    # `lab reset` holds it already
            take_lock(target, open_node(specs[0], args.sudo), args)
        restored, failed = [], 0
        for spec in specs:
            try:
                lab, entries, bad = _restore_node(kube, spec, args)
            except JournalError as exc:     # this node's journal unreadable: the others still restored
                err(exc)
                failed += 1
                continue
            failed += bad
            if entries:
                restored.append((lab, entries))
        if failed:
            return EXIT_FAILED
        if not restored:
            print(f"nothing to restore on {', '.join(specs)}")
            return EXIT_OK
        count = sum(len(entries) for _, entries in restored)
        if not args.no_wait:
            for lab, entries in restored:
                try:
                    with lab.pace.restoring(lab, lab.replaced) as drives:
                        lab.wait_settled(f"control plane Ready on {lab.node_name} after restoring")
                    for d in drives:
                        for line in d.actions:
                            print(f"driven pace, {d.component} on {lab.node.spec}: {line.strip()}")
                except WaitTimeout as exc:
                    err(f"restored {', '.join(e.fault for e in entries)} on {lab.node.spec} but the control "
                        f"plane is not Ready: {exc}")
                    return EXIT_FAILED
            print(f"control plane Ready again ({count} fault(s) restored)")
        return EXIT_OK
    except JournalError as exc:
        err(exc)
        return EXIT_FAILED
    finally:
        target.cleanup()


def _restore_node(kube, spec: str, args):
    """(lab, entries restored, entries that failed) for one node: every journal entry replayed,
    then what a killed write left swept. A journal that cannot be read raises JournalError."""
    from .grading import node_name_of
    from .journal import JournalError
    from .lab import Lab
    from .report import TextReporter
    from .targets import replay

    node = open_node(spec, args.sudo)
    lab = Lab(kube, node, node_name_of(node), reporter=TextReporter(verbose=False),
              pace=getattr(args, "pace", None) or "driven")
    lab.replaced = []    # the pods the driven pace stops once their manifest is put back (pace.py)
    done, failed = [], 0
    for e in lab.leftovers():
        try:
            mark = lab.pace.replaced_pods(lab, e) if not args.no_wait else None
            replay(lab.journal, e)
            if mark:
                lab.replaced.append(mark)
        except JournalError as exc:
            err(exc)
            failed += 1
            continue
        done.append(e)
        print(f"restored {e.fault} on {node.spec}: {e.what()}" + (f" (from {e.backup})" if e.backup else ""))
    for f in lab.journal.sweep():
        print(f"removed stale {f} on {node.spec}")
    return lab, done, failed


def _check_alluredir(args) -> None:
    if getattr(args, "alluredir", None):
        d = Path(args.alluredir).resolve()
        if d.exists() and not d.is_dir():
            raise UsageError(f"--alluredir {args.alluredir}: not a directory")
        if not d.parent.is_dir():
            raise UsageError(f"--alluredir {args.alluredir}: directory {d.parent} does not exist")


def cmd_check(args, lab_step=None) -> int:
    from .grading import Grader, ReadOnlyViolation, node_name_of
    from .grading.render import to_junit, to_text
    from .probes import node_readyz

    _check_alluredir(args)
    if args.replicas is not None and args.replicas < 0:
        raise UsageError("--replicas must be 0 or more")
    if args.junit:
        junit = Path(args.junit).resolve()
        if junit.is_dir():
            raise UsageError(f"--junit {args.junit}: is a directory; give a file name (e.g. {junit / 'grade.xml'})")
        if not junit.parent.is_dir():
            raise UsageError(f"--junit {args.junit}: directory {junit.parent} does not exist")
        if not os.access(junit.parent, os.W_OK):
            raise UsageError(f"--junit {args.junit}: directory {junit.parent} is not writable")
    catalog = _catalog(args) if lab_step is None else lab_step[2]
    target = Target(args)
    try:
        kube = open_kube(target.kubeconfig)
        node = open_node(target.node, args.sudo)
        refuse_while_locked(node, args)
        problem = api_problem(kube)   # reported (one line) after grading from the node
        if problem and problem.startswith(("bad credentials", "the credentials")):
            # Refused credentials are the grader's bad input (exit 2 before anything runs) when the
            # node's own admin.conf gets /readyz answered; when the node's admin is refused too, the
            # API server's authentication or authorization is the fault, and it is graded.
            seen = node_readyz(node)
            if seen is None or seen.ok:
                raise UsageError(f"{problem}: could not grade")
        name = node_name_of(node)
        workers = None
        if lab_step is not None and not problem:   # a step's fault on a worker: that worker's kubelet too
            from .grading.steps import fault_nodes
            workers = fault_nodes(lab_step[1], node, kube, name)
        grader = Grader(node, kube, name, catalog, replicas=args.replicas, app_name=args.app_name,
                        namespace=args.namespace, probe=not args.no_probe_pod, probe_image=args.probe_image,
                        probe_timeout=args.probe_timeout, api_error=problem, workers=workers)
        try:
            rep = grader.run()
            rep.strict = args.strict
            code = rep.exit_code
        except ReadOnlyViolation as exc:
            rep = exc.report  # type: ignore[attr-defined]
            code = EXIT_READONLY
        if lab_step is not None:
            lab, step = lab_step[0], lab_step[1]
            rep.lab = {"id": lab.id, "title": lab.title, "step": step.number, "step_title": step.title,
                       "fault": step.fault.id,
                       "fixed": f"{lab.app_name} at {step.app_replicas} Ready replicas"
                                + (", a new pod schedules" if step.new_pod_schedules else "")
                                + ", the control plane healthy"}
        print(_lab_output(rep, args, lab_step) if lab_step is not None else
              rep.to_json() if args.json else to_text(rep), flush=True)
        if args.junit:
            Path(args.junit).write_text(to_junit(rep))
        if getattr(args, "alluredir", None):
            from .grading.allure import write_allure
            write_allure(rep, args.alluredir)
        if code == EXIT_READONLY:
            err("READ-ONLY VIOLATION: grading changed " + ", ".join(rep.readonly["changed"])[:300])
            return code
        if rep.verdict == "could-not-grade":
            err(f"{problem or 'a probe could not run'}; nothing on the node explains it: could not grade")
        elif problem:
            warn(f"{problem}; graded from the node")
        return rep.exit_code
    finally:
        target.cleanup()


def cmd_snapshot(args) -> int:
    from .grading.baseline import SNAPSHOT_DIR, take_snapshot
    from .grading import Grader, node_name_of

    target = Target(args)
    try:
        kube = open_kube(target.kubeconfig)
        node = open_node(target.node, args.sudo)
        rep = Grader(node, kube, node_name_of(node), _catalog(args), probe=False,
                     api_error=api_problem(kube)).run()
        if not rep.passed and not args.force:
            err(f"the cluster is not healthy ({', '.join(r.name for r in rep.failed_checks)}): a snapshot of it "
                f"would be a bad baseline; nothing written (--force takes it anyway)")
            return EXIT_FAILED
        for path in take_snapshot(node):
            print(f"kept {path} -> {SNAPSHOT_DIR}{path}")
        return EXIT_OK
    finally:
        target.cleanup()


# --- labs ----------------------------------------------------------------------------------------
def _labs(args):
    from .labs import load_labs
    catalog = _catalog(args)
    return catalog, load_labs(catalog, getattr(args, "labs_dir", None))


def _lab_step(args):
    from .labs import select_labs
    catalog, labs = _labs(args)
    lab = select_labs(labs, [args.lab])[0]
    return lab, lab.step(args.step), catalog


def cmd_lab_list(args) -> int:
    _, labs = _labs(args)
    if args.json:
        print(json.dumps([{"id": lab.id, "title": lab.title, "source": lab.source, "shape": lab.shape,
                           "app_node": lab.app_node, "app": lab.app_name,
                           "steps": [{"step": s.number, "title": s.title, "fault": s.fault.id,
                                      "component": s.fault.component, "app_before": s.app_before,
                                      "fixed": {"app_replicas": s.app_replicas,
                                                "new_pod_schedules": s.new_pod_schedules, "weights": s.weights},
                                      "hints": len(s.hints)}
                                     for s in lab.steps]} for lab in labs.values()], indent=2))
        return EXIT_OK
    for lab in labs.values():
        print(f"{lab.id}  {lab.title}" + (f"  (cluster shape {lab.shape})" if lab.shape != "single" else ""))
        for s in lab.steps:
            print(f"  {s.number}. {s.title}  [{s.fault.id}; fixed: {lab.app_name} at {s.app_replicas} Ready"
                  + (", a new pod schedules" if s.new_pod_schedules else "") + "]")
    return EXIT_OK


def cmd_lab_setup(args) -> int:
    """The step's fault as `break` sets it up (backup + journal on the node), with the app where the
    step starts and the learner's symptoms proven; on any failure after the change, put back."""
    from .lab import Lab
    from .report import TextReporter
    from .runner import run_cycle

    lab_def, step, _ = _lab_step(args)
    fault = step.fault
    target = Target(args)
    try:
        kube, node, node_name, path = _open_for_fault(target, args, fault)
        lab = Lab(kube, node, node_name, reporter=TextReporter(), app_name=lab_def.app_name,
                  app_image=args.app_image or "kube-breakfix/app:v1", pace=args.pace)
        lab.app_node = _app_node(kube, lab_def)
        take_lock(target, node, args, lab.journal)
        left = lab.leftovers()
        if left:
            raise UsageError(f"{left[0].fault} is set up on {node.spec} (backup {left[0].backup}); run "
                             f"`breakfix lab reset` first")
        def where_it_starts(c) -> None:
            with lab.reporter.step(f"app {lab_def.app_name} at {step.app_before} Ready replicas (where step "
                                   f"{step.number} starts)"):
                lab.ensure_app(step.app_before)

        def drop_probe_pods(c, error) -> None:
            if error is None:   # the symptoms' own test pods go; the app and the fault stay
                for name in c.injection.context.get("probe_pods", []):
                    with contextlib.suppress(Exception):
                        kube.delete_pod(name, lab.namespace)

        undo, code = [], []
        try:
            cycle = run_cycle([lab], fault, undo.append, settle=where_it_starts, fix=None, verify=None,
                              cleanup=_break_cleanup(undo, code, node.spec, args, then=drop_probe_pods))
        except (Exception, KeyboardInterrupt):
            if code:
                return code[0]
            raise
        inj, evidence = cycle.injection, cycle.evidence
        print(f"lab {lab_def.id} step {step.number} set up on {node.spec} (node {node_name}): {step.title}")
        print(f"  fault:   {fault.id} ({fault.component}): {fault.title}")
        if path:
            print(f"  changed: {path} (backup {inj.backup_path})")
        else:
            print(f"  changed: {_changed(fault.target)}")
        for kind, ev in evidence.items():
            first = next((ln for ln in ev.strip().splitlines() if ln.strip()), "")
            print(f"  sees:    {kind}: {first[:200]}")
        print(f"  grade:   breakfix lab check {lab_def.id} --step {step.number} {_target_args(args)}")
        print(f"  undo:    breakfix lab reset {lab_def.id} {_target_args(args)}")
        if step.hints:
            print(f"  hints:   breakfix lab hint {lab_def.id} --step {step.number}{_given_target(args)} "
                  f"({len(step.hints)}, one at a time)")
        _forget_hints(lab_def.id, args, step.number)
        return EXIT_OK
    finally:
        target.cleanup()


def _app_node(kube, lab_def) -> str | None:
    """The name of the node the lab's `app` is pinned to (cluster.app.node), or None."""
    from .shapes import resolve_node
    return resolve_node(kube, lab_def.app_node) if lab_def.app_node else None


def _forget_hints(lab_id: str, args, step: int | None = None) -> None:
    """A new attempt starts without hints: the step's (or with no STEP every step's) are forgotten."""
    from .hints import HintState, cluster_key, forget_lab
    try:
        if step is None:
            forget_lab(lab_id, cluster_key(args))
        else:
            HintState(lab_id, step, cluster_key(args)).forget()
    except OSError as exc:
        warn(f"could not forget the hints given for lab {lab_id}: {exc.strerror or exc}")


def _lab_output(rep, args, lab_step) -> str:
    """`lab check`'s output: for the learner (default) what is still wrong in the learner's words and
    the hints asked for; with --reveal the full grade of `check` and the criteria; with --json the full
    grade and, in "lab", the criteria, their verdicts, what was read and expected, and the score."""
    from .grading.render import criteria_text, to_learner_text, to_text
    from .hints import HintState, cluster_key, given_hints
    from .learner import grade_step

    lab, step = lab_step[0], lab_step[1]
    graded = grade_step(rep, step, lab.app_name)
    rep.lab["score_percent"] = graded["score"]["percent"]     # a JUnit property, as the other lab_* ones
    hints = given_hints(step.hints, HintState(lab.id, step.number, cluster_key(args)).given())
    if args.json:
        d = rep.to_dict()
        d["lab"].update(graded, hints_given=[{"number": n, "text": t} for n, t in hints],
                        hints_total=len(step.hints))
        return json.dumps(d, indent=2)
    if args.reveal:
        return to_text(rep) + "\n" + criteria_text(graded)
    return to_learner_text(rep, graded, hints, len(step.hints),
                           f"breakfix lab hint {lab.id} --step {step.number}{_given_target(args)}")


def cmd_lab_check(args) -> int:
    lab_step = _lab_step(args)
    step = lab_step[1]
    args.replicas = step.app_replicas
    args.app_name = lab_step[0].app_name
    args.no_probe_pod = not step.new_pod_schedules
    return cmd_check(args, lab_step=lab_step)


def cmd_lab_reset(args) -> int:
    """`restore` (the journal's replay), then the control plane settled and, with LAB, the app where
    the lab starts (created when missing)."""
    from .grading import node_name_of
    from .lab import Lab
    from .report import TextReporter

    lab_def = None
    if args.lab:
        from .labs import select_labs
        lab_def = select_labs(_labs(args)[1], [args.lab])[0]
    args.no_wait = False
    target = Target(args)
    try:
        node = open_node(target.node, args.sudo)
        take_lock(target, node, args)      # held through the restore and the app's reset
        args.lock_held = True
        code = cmd_restore(args)
        if code != EXIT_OK:
            return code
        kube = open_kube(target.kubeconfig)
        lab = Lab(kube, node, node_name_of(node), reporter=TextReporter(verbose=False),
                  app_name=lab_def.app_name if lab_def else "app", app_image=args.app_image or "kube-breakfix/app:v1")
        lab.app_node = _app_node(kube, lab_def) if lab_def else None
        try:
            lab.wait_settled("control plane Ready")
            if lab_def is not None:
                lab.ensure_app(lab_def.app_replicas)
                print(f"lab {lab_def.id} reset: {lab.app_ready_replicas()[2]}")
                _forget_hints(lab_def.id, args)
        except WaitTimeout as exc:
            err(f"restored, but {exc}")
            return EXIT_FAILED
        return EXIT_OK
    finally:
        target.cleanup()


def _given_target(args) -> str:
    """The target options as given (none: nothing), with a leading space, for a command to run next."""
    if not (args.cluster or args.node or args.kubeconfig):
        return ""
    return " " + _target_args(args)


def cmd_lab_hint(args) -> int:
    """The next hint of the step not given yet (or hint --number K), remembered on this machine."""
    from .hints import HintState, cluster_key, next_number

    lab, step, _ = _lab_step(args)
    state = HintState(lab.id, step.number, cluster_key(args))
    where = f"lab {lab.id} step {step.number}"
    if args.forget:
        state.forget()
        print(f"{where}: hints forgotten ({state.path})")
        return EXIT_OK
    total = len(step.hints)
    if args.number is not None and not 1 <= args.number <= max(total, 1):
        raise UsageError(f"{where} has " + (f"hints 1..{total}" if total else "no hints") + f", not {args.number}")
    if not total:
        print(f"{where} has no hints")
        return EXIT_OK
    given = state.given()
    n = args.number if args.number is not None else next_number(step.hints, given)
    if n is None:
        print(f"{where}: all {total} hints given:")
        for k, text in enumerate(step.hints, 1):
            print(f"  hint {k} of {total}: {text}")
        return EXIT_OK
    try:
        state.give(n)
    except OSError as exc:
        warn(f"could not remember the hint in {state.path}: {exc.strerror or exc}")
    print(f"hint {n} of {total} ({where}): {step.hints[n - 1]}")
    left = next_number(step.hints, state.given())
    if left is not None and args.number is None:
        print(f"  next hint ({left} of {total}): breakfix lab hint {lab.id} --step {step.number}"
              f"{_given_target(args)}")
    return EXIT_OK


def cmd_lab_export(args) -> int:
    """The lab as a scenario directory for a learning platform; all files or none."""
    from .export import (DEFAULT_APP_IMAGE, DEFAULT_IMAGEID, DEFAULT_INSTALL, DEFAULT_TARGET, FORMATS, ExportError,
                         check_directory, export)
    from .labs import select_labs

    if args.format not in FORMATS:
        raise UsageError(f"--format {args.format}: unknown format (known: {', '.join(FORMATS)})")
    directory = Path(args.directory)
    try:
        check_directory(directory)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    lab = select_labs(_labs(args)[1], [args.lab])[0]
    target = args.target if args.target is not None else DEFAULT_TARGET
    try:
        written = export(lab, args.format, directory, target=target,
                         install=args.install if args.install is not None else DEFAULT_INSTALL,
                         imageid=args.imageid or DEFAULT_IMAGEID, app_image=args.app_image or DEFAULT_APP_IMAGE)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{directory}: {exc.strerror or exc}; nothing written") from None
    print(f"lab {lab.id} exported as a {args.format} scenario: {directory} ({len(written)} files, "
          f"{len(lab.steps)} steps)")
    return EXIT_OK


LAB_COMMANDS = {"export": cmd_lab_export, "list": cmd_lab_list, "setup": cmd_lab_setup, "check": cmd_lab_check, "hint": cmd_lab_hint,
                "reset": cmd_lab_reset}


def cmd_lab(args) -> int:
    return LAB_COMMANDS[args.lab_command](args)


COMMANDS = {"lab": cmd_lab, "list": cmd_list, "break": cmd_break, "check": cmd_check, "snapshot": cmd_snapshot,
            "restore": cmd_restore}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.command_line = "breakfix " + shlex.join(sys.argv[1:] if argv is None else argv)   # as the lock names it
        if args.command != "list" and getattr(args, "lab_command", None) not in ("list", "export"):
            from .waits import validate_timeouts
            if getattr(args, "timeout_scale", None):   # the grader's and break's waits read it like the suite's
                os.environ["BREAKFIX_TIMEOUT_SCALE"] = repr(args.timeout_scale)
            validate_timeouts(None)   # every BREAKFIX_TIMEOUT_* variable, before anything connects
        return COMMANDS[args.command](args)
    except (BreakfixError, UnknownFault) as exc:
        err(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - still one line; BREAKFIX_DEBUG=1 for the traceback
        if os.environ.get("BREAKFIX_DEBUG"):
            raise
        line = str(exc).strip().splitlines()
        err(f"{type(exc).__name__}: {line[0][:300] if line else ''} (BREAKFIX_DEBUG=1 shows the traceback)")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
