"""`breakfix lab export LAB --format killercoda DIR`: a Killercoda scenario directory whose index.json
follows Killercoda's documented format (validated against KILLERCODA_INDEX below), whose files all
exist, and whose scripts run in the platform's order: the intro's background sets step 1 up, each
step's verify runs `breakfix lab check LAB --step N` (refusing while its step is still being set up),
each later step's background sets it up. The scripts run here with a fake `breakfix` that logs its
arguments (the real commands on a real cluster are the e2e's)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from breakfix.catalog import load_catalog
from breakfix.export import DEFAULT_TARGET, killercoda_files
from breakfix.labs import load_labs

ROOT = Path(__file__).resolve().parents[2]

# Killercoda's index.json, from its documentation and public examples (github.com/killercoda/
# scenario-examples: kubernetes-2node-multi-step-verification, foreground-background-scripts-multi-step;
# the Katacoda-format reference it descends from: title, description, difficulty, time, details with
# intro / steps / finish, each with title, text, answer, verify, background, foreground, and backend.imageid).
_FILE = {"type": "string", "minLength": 1, "pattern": r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+$"}
_PAGE = {"type": "object", "required": ["text"], "additionalProperties": False,
         "properties": {"title": {"type": "string"}, "text": {**_FILE, "pattern": r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+\.md$"},
                        "answer": _FILE, "verify": _FILE, "background": _FILE, "foreground": _FILE}}
KILLERCODA_INDEX = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["title", "details", "backend"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "difficulty": {"type": "string"},
        "time": {"type": "string"},
        "details": {"type": "object", "required": ["intro", "steps", "finish"], "additionalProperties": False,
                    "properties": {"intro": _PAGE, "finish": _PAGE, "assets": {"type": "object"},
                                   "steps": {"type": "array", "minItems": 1,
                                             "items": {**_PAGE, "required": ["title", "text"]}}}},
        "backend": {"type": "object", "required": ["imageid"],
                    "properties": {"imageid": {"type": "string", "minLength": 1}}},
        "interface": {"type": "object"},
    },
}
LABS = {k: v for k, v in load_labs(load_catalog()).items() if v.shape == "single"}   # the one-node machine


def cli(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "breakfix.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module", params=sorted(LABS))
def exported(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("scenario") / request.param
    r = cli("lab", "export", request.param, "--format", "killercoda", str(d))
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    assert r.stdout.startswith(f"lab {request.param} exported as a killercoda scenario: {d}")
    return request.param, d


def test_index_json_follows_killercodas_format_and_names_files_that_exist(exported):
    lab_id, d = exported
    index = json.loads((d / "index.json").read_text())
    jsonschema.Draft202012Validator.check_schema(KILLERCODA_INDEX)
    errors = [e.message for e in jsonschema.Draft202012Validator(KILLERCODA_INDEX).iter_errors(index)]
    assert not errors, errors
    lab = LABS[lab_id]
    assert index["title"] == lab.title and index["backend"]["imageid"] == "kubernetes-kubeadm-1node"
    steps = index["details"]["steps"]
    assert [s["title"] for s in steps] == [s.title for s in lab.steps]
    pages = [index["details"]["intro"], *steps, index["details"]["finish"]]
    named = [p[k] for p in pages for k in ("text", "verify", "background", "foreground") if k in p]
    assert all((d / f).is_file() for f in named), named
    on_disk = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
    assert on_disk == sorted(named + ["index.json"])     # nothing the index does not name
    for f in named:
        if f.endswith(".sh"):
            p = d / f
            assert os.access(p, os.X_OK) and p.read_text().startswith("#!/bin/bash\n"), f
            assert subprocess.run(["bash", "-n", str(p)], capture_output=True).returncode == 0, f
    assert [s["verify"] for s in steps] == [f"step{n}/verify.sh" for n in range(1, len(steps) + 1)]
    assert index["details"]["intro"]["background"] == "setup.sh"
    assert "background" not in steps[0] and all(s["background"] == f"step{n}/background.sh"
                                                for n, s in enumerate(steps[1:], 2))


def test_step_texts_name_the_check_and_the_hint_commands_never_the_fix(exported):
    lab_id, d = exported
    for s in LABS[lab_id].steps:
        text = (d / f"step{s.number}" / "text.md").read_text()
        assert text.startswith(f"# Step {s.number}: {s.title}\n")
        assert f"breakfix lab check {lab_id} --step {s.number} {DEFAULT_TARGET}" in text
        assert f"breakfix lab hint {lab_id} --step {s.number} {DEFAULT_TARGET}" in text
        for secret in (s.fault.fix, s.fault.remediation.splitlines()[0], *s.hints):
            assert secret not in text
    assert LABS[lab_id].title in (d / "intro.md").read_text()


FAKE = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$*" in
  *"lab check"*) exit "${FAKE_CHECK_RC:-1}" ;;
  *"lab setup"*) exit "${FAKE_SETUP_RC:-0}" ;;
esac
exit 0
"""


def run_script(d: Path, rel: str, env: dict, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(d / rel)], capture_output=True, text=True, timeout=60,
                          env={**env, **{k: str(v) for k, v in extra.items()}})


def test_the_scripts_in_the_platforms_order(exported, tmp_path):
    lab_id, d = exported
    fake, log, state = tmp_path / "breakfix", tmp_path / "calls.log", tmp_path / "state"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "BREAKFIX_BIN": str(fake), "FAKE_LOG": str(log), "BREAKFIX_INSTALL": "",
           "BREAKFIX_SCENARIO_STATE": str(state), "BREAKFIX_TARGET": "--cluster breakfix-x",
           "BREAKFIX_APP_IMAGE": "kube-breakfix/app:v1"}

    def calls() -> list[str]:
        out = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return out

    # a check before the step is set up never passes (and grades nothing)
    r = run_script(d, "step1/verify.sh", env, FAKE_CHECK_RC=0)
    assert r.returncode == 1 and "step 1 is still being set up" in r.stdout and calls() == []
    r = run_script(d, "setup.sh", env)
    assert r.returncode == 0 and (state / "step-1.ready").is_file()
    assert calls() == [f"lab reset {lab_id} --cluster breakfix-x --app-image kube-breakfix/app:v1",
                       f"lab setup {lab_id} --step 1 --cluster breakfix-x --app-image kube-breakfix/app:v1"]
    for n in range(1, len(LABS[lab_id].steps) + 1):
        if n > 1:
            assert run_script(d, f"step{n}/verify.sh", env, FAKE_CHECK_RC=0).returncode == 1
            calls()
            r = run_script(d, f"step{n}/background.sh", env)
            assert r.returncode == 0 and calls() == [
                "lab reset --cluster breakfix-x --app-image kube-breakfix/app:v1",
                f"lab setup {lab_id} --step {n} --cluster breakfix-x --app-image kube-breakfix/app:v1"]
        assert run_script(d, f"step{n}/verify.sh", env, FAKE_CHECK_RC=1).returncode == 1   # still broken
        assert run_script(d, f"step{n}/verify.sh", env, FAKE_CHECK_RC=0).returncode == 0   # fixed
        assert calls() == [f"lab check {lab_id} --step {n} --cluster breakfix-x"] * 2


def test_a_setup_that_fails_is_said_by_verify(exported, tmp_path):
    lab_id, d = exported
    fake, state = tmp_path / "breakfix", tmp_path / "state"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "BREAKFIX_BIN": str(fake), "FAKE_LOG": str(tmp_path / "log"),
           "BREAKFIX_INSTALL": "", "BREAKFIX_SCENARIO_STATE": str(state)}
    assert run_script(d, "setup.sh", env, FAKE_SETUP_RC=1).returncode == 1
    assert not (state / "step-1.ready").exists()
    r = run_script(d, "step1/verify.sh", env, FAKE_CHECK_RC=0)
    assert r.returncode == 1 and "setting step 1 up failed (exit 1)" in r.stdout


def test_export_targets_and_install_are_options():
    files = killercoda_files(LABS["control-plane-failure"], target="--cluster k", install="kube-breakfix==1.0",
                             imageid="ubuntu", app_image="img:1")
    assert json.loads(files["index.json"])["backend"] == {"imageid": "ubuntu"}
    assert 'TARGET="${BREAKFIX_TARGET:---cluster k}"' in files["setup.sh"]
    assert 'INSTALL="${BREAKFIX_INSTALL-kube-breakfix==1.0}"' in files["setup.sh"]
    assert 'APP_IMAGE="${BREAKFIX_APP_IMAGE:-img:1}"' in files["step1/verify.sh"]


@pytest.mark.parametrize("argv, line", [
    (["nope", "--format", "killercoda", "{d}"], "unknown lab 'nope'; known: api-server-and-etcd"),
    (["control-plane-failure", "--format", "katacoda", "{d}"], "--format katacoda: unknown format (known: killercoda)"),
    (["control-plane-failure", "--format", "killercoda", "{full}"], "{full}: exists and is not empty"),
    (["control-plane-failure", "--format", "killercoda", "{file}"], "{file}: exists and is not a directory"),
    (["worker-node-failure", "--format", "killercoda", "{d}"],
     "lab worker-node-failure is written for the workers shape: its steps are set up on nodes"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, argv, line):
    full, file = tmp_path / "full", tmp_path / "file"
    full.mkdir()
    (full / "mine.txt").write_text("keep")
    file.write_text("x")
    subs = {"{d}": str(tmp_path / "new"), "{full}": str(full), "{file}": str(file)}
    r = cli("lab", "export", *[subs.get(a, a) for a in argv])
    for k, v in subs.items():
        line = line.replace(k, v)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("breakfix: error: ") and line in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"]
    assert [p.name for p in full.iterdir()] == ["mine.txt"] and file.read_text() == "x"


def test_an_empty_directory_is_used(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    assert cli("lab", "export", "api-server-and-etcd", "--format", "killercoda", str(d)).returncode == 0
    assert (d / "index.json").is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
