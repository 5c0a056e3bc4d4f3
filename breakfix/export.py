"""A lab as a scenario for a learning platform: `breakfix lab export LAB --format killercoda DIR`.

Killercoda's scenario format (its documented `index.json`, as in github.com/killercoda/scenario-examples):
`title`, `description`, `details` with `intro`, `steps[]` and `finish` (each a `text` Markdown file, and
optional `background` / `foreground` scripts; a step's `verify` script lets the learner go on when it
exits 0), and `backend.imageid` (the machine: `kubernetes-kubeadm-1node` is a one-node kubeadm cluster).

What is written:
  index.json
  intro.md            the lab's title and description, how checking and hints work
  setup.sh            intro background: install kube-breakfix, put the cluster where the lab starts,
                      set step 1 up (`breakfix lab reset LAB`, `breakfix lab setup LAB --step 1`)
  stepN/text.md       the step's text (or its title and what the learner sees), the hint command
  stepN/background.sh (N >= 2) step N set up once step N-1 is fixed (`lab reset`, `lab setup --step N`)
  stepN/verify.sh     `breakfix lab check LAB --step N` in learner mode: exit 0 once fixed; before its
                      step's setup has finished it refuses (exit 1), so a cluster still being set up
                      never passes
  finish.md           the lab's `finish:` text

The scripts run on the platform's machine as root. Each reads, with these defaults from the export:
BREAKFIX_TARGET (the cluster options: `--kubeconfig /root/.kube/config --node local://`),
BREAKFIX_INSTALL (what pip installs; empty: kube-breakfix is installed already), BREAKFIX_APP_IMAGE,
BREAKFIX_BIN (the command, `breakfix`) and BREAKFIX_SCENARIO_STATE (where each step's setup leaves
`step-N.ready`, or `step-N.failed`, and its log)."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path

from .labs import Lab, LabStep

FORMATS = ("killercoda",)
DEFAULT_INSTALL = "git+https://github.com/kube-breakfix/kube-breakfix"
DEFAULT_IMAGEID = "kubernetes-kubeadm-1node"
DEFAULT_TARGET = "--kubeconfig /root/.kube/config --node local://"
DEFAULT_APP_IMAGE = "registry.k8s.io/pause:3.10.1"
STATE_DIR = "/var/lib/kube-breakfix-scenario"


class ExportError(Exception):
    """Bad input to the export: one line, nothing written."""


def check_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory}: exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        raise ExportError(f"{directory}: exists and is not empty; give a new or an empty directory")


def _preamble(lab: Lab, what: str, target: str, install: str, app_image: str) -> str:
    q = shlex.quote
    return f"""#!/bin/bash
# {what}
# kube-breakfix lab {lab.id}: {lab.title}
set -uo pipefail
LAB={q(lab.id)}
TARGET="${{BREAKFIX_TARGET:-{target}}}"
INSTALL="${{BREAKFIX_INSTALL-{install}}}"
APP_IMAGE="${{BREAKFIX_APP_IMAGE:-{app_image}}}"
BREAKFIX="${{BREAKFIX_BIN:-breakfix}}"
STATE="${{BREAKFIX_SCENARIO_STATE:-{STATE_DIR}}}"
"""


def setup_script(lab: Lab, step: int, target: str, install: str, app_image: str) -> str:
    """Step STEP set up: on step 1 kube-breakfix installed and the cluster where the lab starts; on a
    later step the previous step's fault forgotten (`lab reset` puts back its backup: the learner fixed
    it already). `step-N.ready` once set up, `step-N.failed` when setting up failed."""
    what = ("Installs kube-breakfix and sets step 1 up (the intro's background script)." if step == 1 else
            f"Sets step {step} up once step {step - 1} is fixed (the step's background script).")
    install_part = """
if [ -n "$INSTALL" ]; then
  echo "installing kube-breakfix: $INSTALL"
  apt-get install -y -qq python3-venv >/dev/null 2>&1 || true
  python3 -m venv /opt/kube-breakfix || exit 1
  /opt/kube-breakfix/bin/pip install --quiet "$INSTALL" || exit 1
  ln -sf /opt/kube-breakfix/bin/breakfix /usr/local/bin/breakfix
fi""" if step == 1 else ""
    return _preamble(lab, what, target, install, app_image) + f"""
mkdir -p "$STATE"
rm -f "$STATE/step-{step}.ready" "$STATE/step-{step}.failed"
(
  set -e{install_part}
  $BREAKFIX lab reset {'"$LAB" ' if step == 1 else ''}$TARGET --app-image "$APP_IMAGE"
  $BREAKFIX lab setup "$LAB" --step {step} $TARGET --app-image "$APP_IMAGE"
) >>"$STATE/setup.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
  touch "$STATE/step-{step}.ready"
else
  echo "exit $rc" > "$STATE/step-{step}.failed"
fi
exit "$rc"
"""


def verify_script(lab: Lab, step: int, target: str, install: str, app_image: str) -> str:
    return _preamble(lab, f"Step {step} is fixed when `breakfix lab check` passes (the step's verify script: exit 0 "
                          f"lets the learner go on).", target, install, app_image) + f"""
if [ -f "$STATE/step-{step}.failed" ]; then
  echo "setting step {step} up failed ($(cat "$STATE/step-{step}.failed")): see $STATE/setup.log"
  exit 1
fi
if [ ! -f "$STATE/step-{step}.ready" ]; then
  echo "step {step} is still being set up: check again in a minute"
  exit 1
fi
exec $BREAKFIX lab check "$LAB" --step {step} $TARGET
"""


def step_text(lab: Lab, step: LabStep, target: str) -> str:
    out = [f"# Step {step.number}: {step.title}", ""]
    if step.text:
        out += [step.text, ""]
    else:
        seen = [s.get("description") for s in step.learner_symptoms if s.get("description")]
        if seen:
            out += ["What you see:", ""] + [f"- {s}" for s in seen] + [""]
        out += ["Find out why from the cluster and the control-plane node, and fix it.", ""]
    out += ["When you think it is fixed, press **Check**: it runs",
            "", "```", f"breakfix lab check {lab.id} --step {step.number} {target}", "```", "",
            "and tells you what is still wrong."]
    if step.hints:
        out += ["", f"Stuck? This step has {len(step.hints)} hints, given one at a time:", "",
                "```", f"breakfix lab hint {lab.id} --step {step.number} {target}", "```{{exec}}"]
    return "\n".join(out) + "\n"


def intro_text(lab: Lab) -> str:
    return (f"# {lab.title}\n\n{lab.description}\n\n"
            f"The lab has {len(lab.steps)} steps. Each starts where the previous one ended; the cluster is "
            f"being set up for step 1 while you read this.\n\n"
            f"Each step is checked on the live cluster: the check tells you what is still wrong, never how "
            f"to fix it.\n")


def finish_text(lab: Lab) -> str:
    return f"# Done\n\n{lab.finish or 'Every step of the lab is fixed.'}\n"


def killercoda_files(lab: Lab, target: str = DEFAULT_TARGET, install: str = DEFAULT_INSTALL,
                     imageid: str = DEFAULT_IMAGEID, app_image: str = DEFAULT_APP_IMAGE) -> dict[str, str]:
    """The scenario's files: relative path -> content."""
    files: dict[str, str] = {"intro.md": intro_text(lab), "finish.md": finish_text(lab),
                             "setup.sh": setup_script(lab, 1, target, install, app_image)}
    steps = []
    for s in lab.steps:
        d = f"step{s.number}"
        files[f"{d}/text.md"] = step_text(lab, s, target)
        files[f"{d}/verify.sh"] = verify_script(lab, s.number, target, install, app_image)
        entry = {"title": s.title, "text": f"{d}/text.md", "verify": f"{d}/verify.sh"}
        if s.number > 1:
            files[f"{d}/background.sh"] = setup_script(lab, s.number, target, install, app_image)
            entry["background"] = f"{d}/background.sh"
        steps.append(entry)
    index = {"title": lab.title, "description": lab.description.splitlines()[0] if lab.description else lab.title,
             "details": {"intro": {"title": "Introduction", "text": "intro.md", "background": "setup.sh"},
                         "steps": steps,
                         "finish": {"title": "Finish", "text": "finish.md"}},
             "backend": {"imageid": imageid}}
    files["index.json"] = json.dumps(index, indent=2) + "\n"
    return files


def export(lab: Lab, fmt: str, directory: Path | str, **kw) -> list[Path]:
    """Write LAB as a FMT scenario into DIRECTORY (new or empty): all files or none."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if lab.shape != "single":   # the scenario's machine is the cluster's one node (kubernetes-kubeadm-1node)
        raise ExportError(f"lab {lab.id} is written for the {lab.shape} shape: its steps are set up on nodes the "
                          f"scenario's one-node machine does not have; nothing written")
    directory = Path(directory)
    check_directory(directory)
    files = killercoda_files(lab, **kw)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            if rel.endswith(".sh"):
                p.chmod(0o755)
        os.chmod(tmp, 0o755)
        if directory.is_dir():
            directory.rmdir()     # empty (checked above)
        tmp.rename(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [directory / rel for rel in files]
