"""Where the engine's steps, evidence and timings go. The engine talks to a Reporter; the pytest
suite plugs in AllureReporter, the command line a TextReporter."""
from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from pathlib import Path

_SECRET = [
    # A PEM block, whole or cut short before its END line (a tail or a truncated attachment).
    (re.compile(r"-----BEGIN [A-Z0-9 ]+-----(?:.*?-----END [A-Z0-9 ]+-----|.*\Z)", re.S), "<redacted PEM block>"),
    # kubeconfig / YAML keys holding credentials, as a block scalar (`client-key-data: |` and its
    # indented lines) or inline.
    (re.compile(r"(?im)^([ \t-]*\"?(?:client-)?(?:certificate|key)-data\"?|[ \t-]*\"?(?:token|password)\"?)"
                r"(\s*:\s*[|>][-+0-9]*[ \t]*)\n(?:[ \t]+\S.*(?:\n|\Z))+"), r"\1\2<redacted>\n"),
    (re.compile(r"(?i)((?:client-)?(?:certificate|key)-data|token|password)(\"?\s*[:=]\s*\"?)[^\s\"|>]+"),
     r"\1\2<redacted>"),
    (re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)\S+"), r"\1<redacted>"),
    (re.compile(r"(?i)(--(?:token|password)[= ])\S+"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    """Never let keys, tokens or kubeconfig credentials into a report."""
    for pat, repl in _SECRET:
        text = pat.sub(repl, text)
    return text


class Reporter:
    """Base reporter: records timings, prints nothing."""

    def __init__(self) -> None:
        self.timings: list[dict] = []
        self.events: list[dict] = []    # the same, with when each ended (monotonic): for the pictures
        self.by_test: dict[str, list[dict]] = {}   # test title -> its phases (fixtures/reporting.py)
        # Called with (name, seconds, labels) as each timing ends: the live progress of a run
        # (fixtures/progress.py prints a line per phase).
        self.listeners: list = []

    @contextlib.contextmanager
    def step(self, title: str):
        yield

    def attach(self, name: str, body: str, kind: str = "text") -> None:  # kind: text|yaml|json|diff
        pass

    def timing(self, name: str, seconds: float, **labels) -> None:
        self.timings.append({"name": name, "seconds": round(seconds, 2), **labels})
        self.events.append({"name": name, "seconds": round(seconds, 2), "end": time.monotonic()})
        for listener in self.listeners:
            listener(name, seconds, labels)

    def phases_since(self, t0: float, first: int = 0) -> list[dict]:
        """The timings recorded since event FIRST, each with its start in seconds after T0."""
        return [{"name": e["name"], "seconds": e["seconds"], "start": max(e["end"] - e["seconds"] - t0, 0.0)}
                for e in self.events[first:]]

    @contextlib.contextmanager
    def timed(self, name: str, **labels):
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timing(name, time.monotonic() - t0, **labels)


class TextReporter(Reporter):
    def __init__(self, stream=None, verbose: bool = True):
        super().__init__()
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.depth = 0

    @contextlib.contextmanager
    def step(self, title: str):
        """A line as the step starts, and one with its time as it ends (`break 2.1 s`), however it ends."""
        print(f"{'  ' * self.depth}- {title}", file=self.stream, flush=True)
        self.depth += 1
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.depth -= 1
            print(f"{'  ' * self.depth}  {title.split(':', 1)[0]} {time.monotonic() - t0:.1f} s", file=self.stream,
                  flush=True)

    def attach(self, name: str, body: str, kind: str = "text") -> None:
        if self.verbose:
            first = redact(body).strip().splitlines()[:1]
            print(f"{'  ' * self.depth}  [{name}] {first[0][:160] if first else ''}", file=self.stream)


class AllureReporter(Reporter):
    def __init__(self) -> None:
        super().__init__()
        import allure
        self.allure = allure

    @contextlib.contextmanager
    def step(self, title: str):
        with self.allure.step(title):
            yield

    def attach(self, name: str, body: str, kind: str = "text") -> None:
        t = self.allure.attachment_type
        atype = {"json": t.JSON, "yaml": t.YAML, "diff": t.TEXT, "text": t.TEXT, "svg": t.SVG}.get(kind, t.TEXT)
        try:
            self.allure.attach(body if kind == "svg" else redact(body), name=name, attachment_type=atype)
        except KeyError:
            # No test is open any more: after Ctrl-C pytest runs the restores at session end, where
            # allure-pytest has nothing to attach to. The restore and its wait must go on regardless.
            print(f"kube-breakfix: [{name}] {redact(body).strip()[:200]}", file=sys.stderr)



def write_timings(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"phases": rows}, indent=2) + "\n")


def write_environment(results_dir: Path, props: dict[str, str]) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{k}={' '.join(str(v).split())}" for k, v in props.items()]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n")


def executor_info(name: str = "kube-breakfix", env: dict | None = None) -> dict:
    """Allure's executor.json: where the run happened. Under GitHub Actions (GITHUB_* variables) the
    workflow run's name and URL; otherwise the host."""
    import os
    import socket
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY", "")
        url = f"{server}/{repo}/actions/runs/{env['GITHUB_RUN_ID']}"
        attempt = env.get("GITHUB_RUN_ATTEMPT")
        return {"name": "GitHub Actions", "type": "github",
                "buildName": f"{env.get('GITHUB_WORKFLOW', 'workflow')} #{env.get('GITHUB_RUN_NUMBER', '?')}"
                             + (f" (attempt {attempt})" if attempt and attempt != "1" else ""),
                "buildOrder": int(env.get("GITHUB_RUN_NUMBER", "0") or 0),
                "buildUrl": url, "reportUrl": url, "url": f"{server}/{repo}"}
    host = socket.gethostname()
    return {"name": host, "type": "local", "buildName": f"{name} on {host}"}


def write_executor(results_dir: Path, name: str = "kube-breakfix", env: dict | None = None) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    p = results_dir / "executor.json"
    p.write_text(json.dumps(executor_info(name, env), indent=2) + "\n")
    return p


def markdown_text(text: str) -> str:
    """Plain text (a fault's remediation, written with line breaks in YAML) as Markdown that keeps
    them: a hard break (two spaces) at the end of each line inside a paragraph."""
    paras = [p.strip("\n") for p in text.strip().split("\n\n")]
    return "\n\n".join("  \n".join(ln.rstrip() for ln in p.splitlines()) for p in paras if p.strip())


def markdown_paragraphs(text: str) -> str:
    """Plain text wrapped in YAML as Markdown paragraphs: the lines of a paragraph joined (the
    browser wraps them), a line that starts a list item (`- `, `* `, `1. `) kept on its own."""
    out = []
    for para in text.strip().split("\n\n"):
        lines: list[str] = []
        for ln in para.strip("\n").splitlines():
            if lines and not re.match(r"\s*(?:[-*] |\d+[.)] )", ln):
                lines[-1] += " " + ln.strip()
            else:
                lines.append(ln.rstrip())
        if lines:
            out.append("\n".join(lines))
    return "\n\n".join(out)


def fault_description(fault) -> str:
    """The description of a fault's test as Markdown (Allure renders it: headings, lists, code):
    what it breaks, the symptoms it must show, the fix and the remediation."""
    t = fault.target
    fields = t.model_dump(exclude={"kind"}, exclude_none=True)
    named = fields.get("path") or fields.get("unit") or next((str(v) for v in fields.values() if v), None)
    where = f" `{named}`" if named else ""
    symptoms = "\n".join(f"- `{s['kind']}`" + (f": {' '.join(str(s['description']).split())}"
                                                if s.get("description") else "") for s in fault.symptoms)
    return (f"## Fault `{fault.id}`\n\n"
            f"- **Component:** {fault.component}\n"
            f"- **Target:** {t.kind}{where}\n"
            f"- **Nodes:** {', '.join(fault.nodes)}\n"
            f"- **Severity:** {fault.severity}\n\n"
            f"## Symptoms it must show\n\n{symptoms}\n\n"
            f"## Fix\n\n{markdown_paragraphs(fault.fix)}\n\n"
            f"## Remediation\n\n{markdown_paragraphs(fault.remediation)}\n")


class Shown:
    """A report parameter shown as its text: Allure puts a str parameter in quotes (its repr)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def describe_fault_test(fault) -> None:
    """What a reviewer reads on a fault's test in the report: its title, the fault id and component
    as parameters, labels to group by, the remediation as Markdown (suites/test_faults.py)."""
    import allure
    allure.dynamic.title(fault.title)
    allure.dynamic.parameter("fault", Shown(fault.id))
    allure.dynamic.parameter("component", Shown(fault.component))
    allure.dynamic.epic("Control plane failures")
    allure.dynamic.feature(fault.component)
    allure.dynamic.suite(fault.component)
    allure.dynamic.story(fault.title)
    allure.dynamic.severity(fault.severity)
    allure.dynamic.tag(fault.id)
    allure.dynamic.description(fault_description(fault))
