"""Render Allure results into one self-contained HTML file, offline.

The Allure 2 command line comes from the npm package ``allure-commandline``,
pinned in ``reports/tooling/package.json`` + ``package-lock.json``; it runs on
the machine's Java. Nothing is fetched at report time except, once, the
``npm ci`` that fills ``reports/tooling/node_modules``.

Usage::

    python -m breakfix.report_html reports/allure-results reports/html

which runs ``allure generate --single-file --clean -o reports/html
reports/allure-results`` and leaves ``reports/html/index.html`` (one file,
opens straight from disk).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOOLING_DIR = REPO_ROOT / "reports" / "tooling"
DEFAULT_CATEGORIES = REPO_ROOT / "reports" / "categories.json"
# Styles the single-file report gets on top of Allure's own (its reset leaves a description's
# Markdown headings and lists as plain lines): one <style> element, nothing loaded from elsewhere.
DEFAULT_CSS = DEFAULT_TOOLING_DIR / "report.css"

NPM_CI_TIMEOUT = 600  # seconds; one-off install of the pinned CLI
_KILL_GRACE = 30  # seconds to collect output after killing a timed-out process group


class ReportError(RuntimeError):
    """One-line error raised when the HTML report cannot be produced."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tail(output: str, lines: int = 6, limit: int = 600) -> str:
    kept = [line.strip() for line in output.splitlines() if line.strip()][-lines:]
    text = " | ".join(kept) or "(no output)"
    return text if len(text) <= limit else "..." + text[-limit:]


def _run(
    cmd: Sequence[str], *, cwd: Path, timeout: float, what: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run *cmd* in its own process group; on timeout kill the whole group.

    The npm ``allure`` entry point is a node wrapper that spawns a shell script
    that execs java, so killing only the direct child would leave java behind.
    """
    try:
        proc = subprocess.Popen(
            list(cmd),
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise ReportError(_one_line(f"{what}: cannot start {cmd[0]}: {exc}")) from exc
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, _ = proc.communicate(timeout=_KILL_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            out = ""
        raise ReportError(_one_line(f"{what} timed out after {timeout}s: {_tail(out or '')}")) from None
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out or "", None)


def _require_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if not os.access(java, os.X_OK):
            raise ReportError(f"JAVA_HOME={java_home} has no executable bin/java (Allure 2 needs a Java runtime)")
        return
    if shutil.which("java") is None:
        raise ReportError(
            "java not found on PATH: Allure 2 needs a Java runtime (e.g. apt-get install -y default-jre-headless)"
        )


def ensure_allure(tooling_dir: str | os.PathLike | None = None, timeout: float = NPM_CI_TIMEOUT) -> Path:
    """Return the pinned ``allure`` executable, running ``npm ci`` first if it is not installed."""
    tooling = Path(tooling_dir).resolve() if tooling_dir else DEFAULT_TOOLING_DIR
    allure = tooling / "node_modules" / ".bin" / "allure"
    _require_java()
    if shutil.which("node") is None:
        raise ReportError("node not found on PATH: the allure-commandline entry point is a Node.js script")
    if not allure.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise ReportError(f"npm not found on PATH: needed once to install the pinned Allure CLI into {tooling}")
        if not (tooling / "package-lock.json").is_file():
            raise ReportError(f"no package-lock.json in {tooling}: cannot install the pinned Allure CLI")
        res = _run([npm, "ci", "--no-audit", "--no-fund"], cwd=tooling, timeout=timeout, what="npm ci")
        if res.returncode != 0:
            raise ReportError(_one_line(f"npm ci in {tooling} failed (exit {res.returncode}): {_tail(res.stdout)}"))
        if not allure.exists():
            raise ReportError(f"npm ci in {tooling} succeeded but {allure} is missing")
    return allure


def _install_categories(results: Path, categories: str | os.PathLike | None) -> None:
    """Allure reads categories.json from the results directory; copy ours in unless one is there."""
    if categories is None:
        return
    src = Path(categories)
    dst = results / "categories.json"
    if src.is_file() and not dst.exists():
        shutil.copyfile(src, dst)


def generate_html(
    results_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    tooling_dir: str | os.PathLike | None = None,
    timeout: float = 300,
    categories: str | os.PathLike | None = DEFAULT_CATEGORIES,
    history_dir: str | os.PathLike | None = None,
    css: str | os.PathLike | None = DEFAULT_CSS,
) -> Path:
    """Render *results_dir* into ``out_dir/index.html`` (single file) and return that path.

    *out_dir* is wiped first (``--clean``). ``reports/categories.json`` is
    copied into *results_dir* if it has none (pass ``categories=None`` to skip).
    *history_dir*: Allure's ``history/`` of the previous reports is copied into
    the results before generating (the Trend and each test's History tab), and
    this report's history is written back there for the next run.
    *css*: styles added to the page (reports/tooling/report.css; None for none).
    """
    results = Path(results_dir).resolve()
    out = Path(out_dir).resolve()
    if not results.is_dir():
        raise ReportError(f"allure results directory not found: {results}")
    if out == results or out in results.parents:
        raise ReportError(f"refusing to generate into {out}: --clean would delete the results in {results}")
    if out == REPO_ROOT or out in REPO_ROOT.parents:
        raise ReportError(f"refusing to generate into {out}: --clean would delete the repository")

    allure = ensure_allure(tooling_dir)
    _install_categories(results, categories)
    out.parent.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    if index.exists():
        index.unlink()  # so a stale report can never pass for a fresh one

    cmd = [str(allure), "generate", "--single-file", "--clean", "-o", str(out), str(results)]
    env = dict(os.environ)
    # Offline report: no usage ping from the generator, no analytics tag in the HTML.
    env["ALLURE_NO_ANALYTICS"] = "true"
    if history_dir is not None:
        _history_in(Path(history_dir), results)
    res = _run(cmd, cwd=out.parent, timeout=timeout, what="allure generate", env=env)
    if res.returncode == 0 and history_dir is not None:
        _history_out(allure, results, Path(history_dir), timeout, env)
    if res.returncode != 0:
        raise ReportError(_one_line(f"allure generate failed (exit {res.returncode}): {_tail(res.stdout)}"))
    if not index.is_file() or index.stat().st_size == 0:
        raise ReportError(_one_line(f"allure generate did not write {index}: {_tail(res.stdout)}"))
    if css is not None and Path(css).is_file():
        add_style(index, Path(css).read_text(encoding="utf-8"))
    return index


def add_style(index: Path, css: str) -> None:
    """CSS into INDEX as one <style> element at the end of its <head> (after Allure's own)."""
    html = index.read_text(encoding="utf-8")
    if "</head>" not in html:
        raise ReportError(f"{index} has no </head>: cannot add the report's styles")
    if "</style" in css.lower():
        raise ReportError("the report's styles contain '</style'")
    head, tail = html.rsplit("</head>", 1)
    index.write_text(f'{head}<style id="kube-breakfix">\n{css}</style>\n</head>{tail}', encoding="utf-8")


def _history_in(history: Path, results: Path) -> None:
    """The previous reports' history into the results (Allure reads results/history/*.json)."""
    if not history.is_dir():
        return
    dst = results / "history"
    dst.mkdir(exist_ok=True)
    for f in history.glob("*.json"):
        shutil.copyfile(f, dst / f.name)


def _history_out(allure: Path, results: Path, history: Path, timeout: float, env: dict) -> None:
    """This report's history, for the next one. A single-file report keeps its history inside the
    HTML, so a directory report is generated (into a temporary directory) for its history/."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="breakfix-history-") as tmp:
        res = _run([str(allure), "generate", "--clean", "-o", str(Path(tmp) / "r"), str(results)],
                   cwd=Path(tmp), timeout=timeout, what="allure generate (history)", env=env)
        src = Path(tmp) / "r" / "history"
        if res.returncode != 0 or not src.is_dir():
            raise ReportError(_one_line(f"allure generate (for its history) failed (exit {res.returncode}): "
                                        f"{_tail(res.stdout)}"))
        history.mkdir(parents=True, exist_ok=True)
        for f in src.glob("*.json"):
            shutil.copyfile(f, history / f.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m breakfix.report_html",
        description="Render Allure results into a single-file HTML report (out/index.html).",
    )
    parser.add_argument("results", help="allure results directory, e.g. reports/allure-results")
    parser.add_argument("out", help="output directory (wiped), e.g. reports/html")
    parser.add_argument("--tooling-dir", default=None, help=f"npm project with the pinned CLI (default {DEFAULT_TOOLING_DIR})")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for allure generate (default 300)")
    parser.add_argument("--history", default=None, metavar="DIR",
                        help="keep Allure's history across runs in DIR (Trend, History and Retries tabs)")
    args = parser.parse_args(argv)
    try:
        index = generate_html(args.results, args.out, tooling_dir=args.tooling_dir, timeout=args.timeout,
                              history_dir=args.history)
    except (RuntimeError, OSError) as exc:
        print(f"report_html: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
