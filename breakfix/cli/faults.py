"""`breakfix list | break FAULT | restore`: the catalog, a fault set up and left in place (a failed
break put back), and every backup on the node(s) put back."""
from __future__ import annotations

import json
import subprocess

from ..errors import ClusterUnavailable, InfrastructureError, WaitTimeout
from .common import (EXIT_ERROR, EXIT_FAILED, EXIT_NOT_PUT_BACK, EXIT_OK, Target, UsageError, _catalog, _target_args,
                     api_problem, err, kind_get, open_kube, open_node, take_lock, warn)


def cmd_list(args) -> int:
    faults = _catalog(args)
    if args.json:
        print(json.dumps([{"id": f.id, "component": f.component, "title": f.title, "severity": f.severity,
                           "reference_lab": f.reference_lab, "api_down": f.api_down} for f in faults.values()],
                         indent=2))
        return EXIT_OK
    from ..catalog import table
    print("\n".join(table(faults, lab_column=True)))
    return EXIT_OK


def _open_for_fault(target, args, fault):
    """(kube, node, node name, the node file FAULT changes or None) of a target about to be broken:
    the API answers, the node is reachable, the component's manifest and the target file exist;
    otherwise one clear error and nothing changed."""
    from ..grading import node_name_of
    from ..lab import require_static_pod_manifest
    from ..node import MANIFEST_DIR

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
    from ..shapes import resolve_node
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
    from ..catalog import select
    from ..grading import Grader
    from ..lab import Lab
    from ..report import TextReporter
    from ..runner import run_cycle
    from ..waits import timeout, wait_until

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


def _break_cleanup(undo, code: list, spec: str, args, then=None):
    """The runner's cleanup for `break` and `lab setup`: on success the fault stays, unmeasured (its
    symptoms' probes, e.g. an API monitor's thread, stop now, not mid-request while the interpreter
    exits); on a failure after the journal was written, the undo runs now and CODE gets the exit
    code that says what happened to the node (_undo_failed_break). THEN(cycle, error) after that."""
    from ..symptoms import stop_monitors

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
    from ..journal import JournalError

    try:
        host_done = _host_first(args)
    except JournalError as exc:
        err(exc)
        return EXIT_FAILED
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
            if entries or (host_done and spec == specs[0]):   # the host's: waited for on the first node
                restored.append((lab, entries + (host_done if spec == specs[0] else [])))
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


def _host_first(args) -> list:
    """`restore --cluster NAME` when kind cannot tell the cluster's API address: kind reads it from the
    load balancer's published port, which a stopped load balancer (ha-load-balancer-stopped) has
    not. Then the host's journal of that cluster is replayed first (it needs no API: `docker
    start`), so that the address is back for the rest of the restore and its wait."""
    if not args.cluster or args.kubeconfig:
        return []
    try:
        kind_get("kubeconfig", args.cluster)
        return []
    except UsageError:
        pass
    from ..journal import host_journal
    from ..targets import replay
    journal, done = host_journal(args.cluster), []
    for e in journal.entries():
        replay(journal, e)
        done.append(e)
        print(f"restored {e.fault} on this machine: {e.what()} (the cluster's API address needs it)")
    return done


def _restore_node(kube, spec: str, args):
    """(lab, entries restored, entries that failed) for one node: every journal entry replayed,
    then what a killed write left swept. A journal that cannot be read raises JournalError."""
    from ..grading import node_name_of
    from ..journal import JournalError
    from ..lab import Lab
    from ..report import TextReporter
    from ..targets import replay

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
