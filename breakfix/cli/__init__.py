"""`breakfix list | break FAULT | check | restore`: the engine on the command line, for lab
authors (break, restore) and graders (check) working on a cluster they did not create.

Exit codes: 0 success / every check passed; 1 a check failed, or `break` failed after changing the
node and put it back, or `restore` left a fault in place; 2 an error the user can fix, and nothing
on the node changed (bad option, unknown fault, bad fault file, kubeconfig, node or API server not
usable); 3 grading changed a file on the node (must never happen); 4 `break` failed after changing
the node and could not put it back (the journal is kept: run `breakfix restore`); 130 interrupted.
Every error is one line on stderr: `breakfix: error: ...`.

The argument parser and `main` are here; the commands are in `faults` (list, break, restore),
`check` (check, snapshot) and `lab` (lab ...); what they share (exit codes, output, where to act)
in `common`."""
from __future__ import annotations

import argparse
import math
import os
import shlex
import sys

from ..errors import BreakfixError, UnknownFault
from ..pace import DEFAULT_PACE, PACES
from .check import cmd_check, cmd_snapshot
from .common import EXIT_ERROR, EXIT_INTERRUPTED, UsageError, err
from .faults import cmd_break, cmd_list, cmd_restore
from .lab import cmd_lab


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


def _add_pace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pace", choices=PACES, default=DEFAULT_PACE,
                        help="driven (default): stop what the kubelet replaces of etcd and the API server with no "
                             "grace; kubelet: wait for the kubelet's own pace")


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
    _add_pace(br)

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
    _add_pace(lsu)
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
    _add_pace(rs)
    return p


COMMANDS = {"lab": cmd_lab, "list": cmd_list, "break": cmd_break, "check": cmd_check, "snapshot": cmd_snapshot,
            "restore": cmd_restore}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.command_line = "breakfix " + shlex.join(sys.argv[1:] if argv is None else argv)   # as the lock names it
        if args.command != "list" and getattr(args, "lab_command", None) not in ("list", "export"):
            from ..waits import validate_timeouts
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
