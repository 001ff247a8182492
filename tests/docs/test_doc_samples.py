"""Every code sample in the README and `docs/` runs against a real server, on both databases,
so the docs cannot rot (how samples are found and marked: `tests/docs/samples.py`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.samples import ROOT, SAMPLE_PORTS, documented_pages, page_script, parse_page
from tests.support.server import free_port, running_server
from tests.support.services import unavailable

PAGES = [parse_page(path) for path in documented_pages()]
RUNNABLE_PAGES = [page for page in PAGES if page.runnable]
NODE_MODULES = Path(os.environ.get("AINS_TEST_NODE_CACHE", "/tmp/ains-docs-node"))


def _node_path() -> str:
    """`standardwebhooks` from the npm registry, for the Node sample of the webhook guide."""
    if not (NODE_MODULES / "node_modules" / "standardwebhooks").exists():
        NODE_MODULES.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(NODE_MODULES), "standardwebhooks@1"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return str(NODE_MODULES / "node_modules")


def _tools_for(page_text: str) -> dict[str, str]:
    needed = {"jq": "jq" in page_text, "node": "```javascript" in page_text}
    for tool, wanted in needed.items():
        if wanted and shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (the docs' samples use it)")
    return {"NODE_PATH": _node_path()} if needed["node"] else {}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=[p.name for p in RUNNABLE_PAGES])
def test_the_samples_of_each_page_run(page, backend: str, tmp_path: Path) -> None:
    extra_env = _tools_for(page.path.read_text())
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))
    (work / "examples").symlink_to(ROOT / "examples") if (ROOT / "examples").exists() else None
    with running_server(backend, tmp_path, **page.server_env) as server:
        script = work / "samples.sh"
        ports = {port: free_port() for port in SAMPLE_PORTS}
        script.write_text(page_script(page, server.url, ports))
        env = {
            **os.environ,
            **extra_env,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "AINS_URL": server.url,
            "PYTHONPATH": str(ROOT),
            "AINS_DATABASE_URL": server.database_url,
        }
        done = subprocess.run(
            ["bash", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=540
        )
        logs = "".join(
            f"\n--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(work.glob("*.log"))
        )
        assert done.returncode == 0, (
            f"a sample of {page.name} failed (exit {done.returncode}); the last marker names it\n"
            f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}{logs}"
        )


def test_every_skipped_sample_says_why() -> None:
    unexplained = [
        f"{s.page}:{s.line}" for p in PAGES for s in p.samples if s.kind == "skip" and not s.reason
    ]
    assert unexplained == []


def test_sample_markers_are_known() -> None:
    kinds = {s.kind for p in PAGES for s in p.samples}
    assert kinds <= {"run", "server", "background", "expect-fail", "skip"}, kinds


def test_the_readme_and_the_getting_started_page_have_samples_that_run() -> None:
    names = {p.name for p in RUNNABLE_PAGES}
    assert {"README.md", "docs/index.md"} <= names
