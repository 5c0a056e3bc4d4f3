"""The set-up path on a machine that lacks what the project installs, without a new machine: the
airgap scripts run with a PATH from which the tools are hidden, and with a stand-in apt-get that
either "installs" (drops a stub on PATH) or fails. Every script must install what it needs before
its first use, or stop with one line naming it: never a silent exit."""
from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRGAP = ROOT / "airgap"
HIDDEN = {"debootstrap", "dockerd", "docker", "jq", "shellcheck", "chromium", "java", "npm", "apt-get"}
PROVIDES = {"debootstrap": "debootstrap", "docker.io": "dockerd", "jq": "jq", "shellcheck": "shellcheck",
            "chromium": "chromium", "default-jre-headless": "java", "npm": "npm"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the scripts install as root")


def bare_path(tmp_path: Path, hide: set[str]) -> Path:
    """A directory of links to every executable on PATH but the hidden ones."""
    d = tmp_path / "bin"
    d.mkdir()
    for entry in os.environ["PATH"].split(os.pathsep):
        p = Path(entry)
        if not p.is_dir():
            continue
        for exe in p.iterdir():
            if exe.name in hide or (d / exe.name).exists():
                continue
            if exe.is_file() and os.access(exe, os.X_OK):
                (d / exe.name).symlink_to(exe)
    return d


def fake_apt(bindir: Path, works: bool) -> Path:
    log = bindir.parent / "apt.log"
    stubs = "\n".join(f'    {pkg}) printf "#!/bin/sh\\nexit 0\\n" > "{bindir}/{cmd}"; chmod +x "{bindir}/{cmd}" ;;'
                      for pkg, cmd in PROVIDES.items())
    body = f"""#!/bin/bash
echo "$*" >> "{log}"
[[ $1 == update || $* == *update* ]] && exit 0
{'' if works else 'echo "E: Unable to locate package $' + '{@: -1}" >&2; exit 100'}
for a in "$@"; do
  case $a in
{stubs}
  esac
done
"""
    apt = bindir / "apt-get"
    apt.write_text(body)
    apt.chmod(apt.stat().st_mode | stat.S_IXUSR)
    return log


def run(script: str, bindir: Path, tmp_path: Path, *args: str, src: str | None = None):
    env = {"PATH": str(bindir), "HOME": str(tmp_path), "BREAKFIX_BUILD_DIR": str(tmp_path / "build"),
           "LANG": "C"}
    cmd = ["bash", "-c", src] if src else ["bash", str(AIRGAP / script), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_plan_on_a_bare_machine_names_every_install_and_exits_0(tmp_path):
    bindir = bare_path(tmp_path, HIDDEN | {"go"})
    r = run("node-image.sh", bindir, tmp_path, "--plan")
    assert r.returncode == 0, r.stderr
    for pkg in ("debootstrap", "docker.io", "jq"):
        assert f"plan: install Debian package {pkg} " in r.stdout, r.stdout
    assert "plan: MISSING go" in r.stdout
    assert "plan: build Kubernetes" in r.stdout and "plan: debootstrap a Debian" in r.stdout
    r = run("host-tools.sh", bindir, tmp_path, "--plan", "report", "test")
    assert r.returncode == 0, r.stderr
    for pkg in ("default-jre-headless", "npm", "shellcheck", "chromium"):
        assert f"plan: install Debian package {pkg} " in r.stdout, r.stdout


def test_ensure_installs_what_is_missing_before_use(tmp_path):
    bindir = bare_path(tmp_path, HIDDEN)
    log = fake_apt(bindir, works=True)
    r = run("", bindir, tmp_path, src=f"source {AIRGAP}/lib.sh; ensure_build_tools; ensure_docker_tools; "
                                      "command -v debootstrap jq dockerd")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(bindir / c) for c in ("debootstrap", "jq", "dockerd")]
    calls = log.read_text().splitlines()
    assert calls[0].endswith("update -qq") and sum("update" in c for c in calls) == 1
    assert [c.split()[-1] for c in calls[1:]] == ["debootstrap", "jq", "docker.io"]


@pytest.mark.parametrize("script,args", [
    ("node-image.sh", ()), ("docker-up.sh", ()), ("build-rootfs.sh", ()), ("build-k8s.sh", ()),
    ("build-components.sh", ()), ("host-tools.sh", ("test",)), ("host-tools.sh", ("report",)),
])
def test_every_script_stops_with_one_line_when_it_cannot_install(tmp_path, script, args):
    bindir = bare_path(tmp_path, HIDDEN)
    fake_apt(bindir, works=False)
    r = run(script, bindir, tmp_path, *args)
    assert r.returncode != 0
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("airgap: error:")]
    assert len(errors) == 1, r.stderr
    assert re.search(r"airgap: error: \S+ not found; apt-get install \S+ failed: E: Unable to locate", errors[0]), errors
    assert not (tmp_path / "build" / "rootfs.tar").exists()


def test_missing_go_is_one_line_not_a_silent_exit(tmp_path):
    bindir = bare_path(tmp_path, HIDDEN | {"go"})
    fake_apt(bindir, works=True)
    r = run("node-image.sh", bindir, tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("airgap: error: go not found on PATH: Go 1.24")


def test_no_script_checks_a_tool_outside_ensure():
    """The bug class of a check that exits before its install: tools are only looked up by
    lib.sh's ensure, which installs in the same step."""
    offenders = []
    for f in AIRGAP.glob("*.sh"):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if f.name != "lib.sh" and re.search(r"command -v|which |need_cmd|type -p", code):
                offenders.append(f"{f.name}:{n}: {line.strip()}")
    assert not offenders, offenders


@pytest.mark.parametrize("target", ["node-image", "node-images"])
def test_make_node_image_prints_the_node_image_reference_last(tmp_path, target):
    """The Makefile's own recipe, with stand-ins for the scripts it runs: each prints a log line on
    stderr and its reference on stdout, as the real ones do; the node image's comes last."""
    (tmp_path / "airgap").mkdir()
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    (tmp_path / "airgap" / "versions.env").write_text('K8S_VERSIONS="v1.34.4 v1.33.13"\n')
    scripts = {"docker-up.sh": 'echo "[airgap] docker up" >&2',
               "node-image.sh": 'echo "[airgap] node image built" >&2; echo "kube-breakfix/node:${BREAKFIX_K8S_VERSION:-v1.34.4}-abc"',
               "haproxy-image.sh": 'echo "[airgap] load balancer built" >&2; echo "kindest/haproxy:v1"'}
    for name, body in scripts.items():
        (tmp_path / "airgap" / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
    r = subprocess.run(["make", "-s", "-C", str(tmp_path), target], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    want = ["kindest/haproxy:v1", "kube-breakfix/node:v1.34.4-abc"]
    if target == "node-images":
        want.append("kube-breakfix/node:v1.33.13-abc")
    assert lines == want, r.stdout
    assert "node image built" in r.stderr and "load balancer built" in r.stderr


def test_make_node_image_stops_when_the_node_image_fails(tmp_path):
    (tmp_path / "airgap").mkdir()
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    for name, body in {"docker-up.sh": "true", "node-image.sh": 'echo "airgap: error: no go" >&2; exit 1',
                       "haproxy-image.sh": 'echo "kindest/haproxy:v1"'}.items():
        (tmp_path / "airgap" / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
    r = subprocess.run(["make", "-s", "-C", str(tmp_path), "node-image"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and r.stdout == "" and "airgap: error: no go" in r.stderr
