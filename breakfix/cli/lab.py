"""`breakfix lab list | setup | check | hint | reset | export`: the labs (labs/*.yaml), a step set up,
graded, hinted at, undone, or the lab written out for a learning platform."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..errors import WaitTimeout
from .check import cmd_check
from .common import (EXIT_FAILED, EXIT_OK, Target, UsageError, _catalog, _given_target, _target_args, err, open_kube,
                     open_node, take_lock, warn)
from .faults import _break_cleanup, _changed, _open_for_fault, cmd_restore


def _labs(args):
    from ..labs import load_labs
    catalog = _catalog(args)
    return catalog, load_labs(catalog, getattr(args, "labs_dir", None))


def _lab_step(args):
    from ..labs import select_labs
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
    from ..lab import Lab
    from ..report import TextReporter
    from ..runner import run_cycle

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
                for name in c.injection.context.probe_pods:
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
    from ..shapes import resolve_node
    return resolve_node(kube, lab_def.app_node) if lab_def.app_node else None


def _forget_hints(lab_id: str, args, step: int | None = None) -> None:
    """A new attempt starts without hints: the step's (or with no STEP every step's) are forgotten."""
    from ..hints import HintState, cluster_key, forget_lab
    try:
        if step is None:
            forget_lab(lab_id, cluster_key(args))
        else:
            HintState(lab_id, step, cluster_key(args)).forget()
    except OSError as exc:
        warn(f"could not forget the hints given for lab {lab_id}: {exc.strerror or exc}")


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
    from ..grading import node_name_of
    from ..lab import Lab
    from ..report import TextReporter

    lab_def = None
    if args.lab:
        from ..labs import select_labs
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


def cmd_lab_hint(args) -> int:
    """The next hint of the step not given yet (or hint --number K), remembered on this machine."""
    from ..hints import HintState, cluster_key, next_number

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
    from ..export import (DEFAULT_APP_IMAGE, DEFAULT_IMAGEID, DEFAULT_INSTALL, DEFAULT_TARGET, FORMATS, ExportError,
                         check_directory, export)
    from ..labs import select_labs

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
