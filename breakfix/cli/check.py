"""`breakfix check | snapshot`: the cluster graded (read-only; `lab check` grades a step through it),
and the healthy node's files kept as the baseline."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import WaitTimeout
from .common import (EXIT_FAILED, EXIT_OK, EXIT_READONLY, Target, UsageError, _catalog, _given_target, api_problem,
                     err, open_kube, open_node, warn)


def refuse_while_locked(node, args) -> None:
    """`check`: no grading while a writer holds the node's lock (it would grade a change in
    progress): wait up to --wait-lock, then refuse naming the holder, unless --force."""
    from ..lock import LockHeld, NodeLock
    from ..waits import Observation, wait_until
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


def _check_alluredir(args) -> None:
    if getattr(args, "alluredir", None):
        d = Path(args.alluredir).resolve()
        if d.exists() and not d.is_dir():
            raise UsageError(f"--alluredir {args.alluredir}: not a directory")
        if not d.parent.is_dir():
            raise UsageError(f"--alluredir {args.alluredir}: directory {d.parent} does not exist")


def cmd_check(args, lab_step=None) -> int:
    from ..grading import Grader, ReadOnlyViolation, node_name_of
    from ..grading.render import to_junit, to_text
    from ..probes import node_readyz

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
            from ..grading.steps import fault_nodes
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
            from ..grading.allure import write_allure
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
    from ..grading.baseline import SNAPSHOT_DIR, take_snapshot
    from ..grading import Grader, node_name_of

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


def _lab_output(rep, args, lab_step) -> str:
    """`lab check`'s output: for the learner (default) what is still wrong in the learner's words and
    the hints asked for; with --reveal the full grade of `check` and the criteria; with --json the full
    grade and, in "lab", the criteria, their verdicts, what was read and expected, and the score."""
    from ..grading.render import criteria_text, to_learner_text, to_text
    from ..hints import HintState, cluster_key, given_hints
    from ..learner import grade_step

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
