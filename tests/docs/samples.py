"""The code samples of the README and `docs/`, turned into one bash script per page.

Every fenced block in `bash`, `sh`, `python` or `javascript` is a sample and runs, in page order,
against a real server. An HTML comment on the line before a block changes how it runs:

- `<!-- sample: server -->` — the block starts the server; the test has started one already.
- `<!-- sample: background -->` — a long-running command (an agent, a receiver): started in the
  background, stopped when the page ends.
- `<!-- sample: expect-fail -->` — the block must fail (it shows an error).
- `<!-- sample: skip — <reason> -->` — not run; the reason is required.

A page-wide `<!-- samples-env: NAME=value … -->` sets environment variables of the page's server.
Inside samples, `localhost:8000` (or `127.0.0.1:8000`) is the server under test, and the
ports 9123–9125 (as `127.0.0.1:9123` or `port=9123`) are free ports of the run, for receivers.
`curl` fails on an HTTP error (`--fail-with-body`), so a sample that gets a 4xx or 5xx fails.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = {"bash": "bash", "sh": "bash", "python": "python", "javascript": "node"}
DIRECTIVE = re.compile(r"<!--\s*sample:\s*(?P<kind>[a-z-]+)\s*(?:[—-]+\s*(?P<reason>.*?))?\s*-->")
PAGE_ENV = re.compile(r"<!--\s*samples-env:\s*(?P<pairs>.*?)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
SERVER_ADDRESSES = ("localhost:8000", "127.0.0.1:8000")
# ports of receivers the samples start themselves (webhook receivers): each run gets free ones
SAMPLE_PORTS = ("9123", "9124", "9125")


@dataclass
class Sample:
    page: str
    line: int
    language: str
    code: str
    kind: str = "run"
    reason: str = ""


@dataclass
class Page:
    path: Path
    samples: list[Sample] = field(default_factory=list)
    server_env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))

    @property
    def runnable(self) -> list[Sample]:
        return [s for s in self.samples if s.kind not in {"skip", "server"}]


def documented_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parse_page(path: Path) -> Page:
    page = Page(path)
    lines = path.read_text().splitlines()
    pending: tuple[str, str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        env = PAGE_ENV.search(line)
        if env:
            for pair in shlex.split(env.group("pairs")):
                name, _, value = pair.partition("=")
                page.server_env[name] = value
        directive = DIRECTIVE.search(line)
        if directive:
            pending = (directive.group("kind"), (directive.group("reason") or "").strip())
            index += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if line.strip():
                pending = None
            index += 1
            continue
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        language = fence.group("lang")
        if language in RUNNABLE:
            kind, reason = pending or ("run", "")
            indent = len(fence.group("indent"))
            code = "\n".join(raw[indent:] for raw in lines[start:end])
            page.samples.append(Sample(page.name, start, language, code, kind, reason))
        pending = None
        index = end + 1
    return page


def page_script(page: Page, base_url: str, sample_ports: dict[str, int] | None = None) -> str:
    """One bash script that runs the page's samples in order against `base_url`; the ports in
    `sample_ports` (documented port → port to use) are replaced too."""
    parts = [
        "set -euo pipefail -m",
        "BACKGROUND=()",
        'trap \'for p in "${BACKGROUND[@]}"; do kill -- "-$p" 2>/dev/null || true; done\' EXIT',
        "shopt -s inherit_errexit",
        'curl() { local rc=0; command curl --fail-with-body -sS "$@" || rc=$?; echo; '
        'return "$rc"; }',
    ]
    host_port = base_url.split("://", 1)[-1]
    for number, sample in enumerate(page.runnable):
        code = sample.code
        for address in SERVER_ADDRESSES:
            code = code.replace(address, host_port)
        for documented, actual in (sample_ports or {}).items():
            code = code.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{actual}")
            code = code.replace(f"port={documented}", f"port={actual}")
        parts.append(f'echo "### {sample.page}:{sample.line} ({sample.kind})" >&2')
        body = _as_bash(sample.language, code, f"SAMPLE_{number}")
        if sample.kind == "background":
            parts.append(f"( {body} ) > sample-{number}.log 2>&1 &\nBACKGROUND+=($!)")
        elif sample.kind == "expect-fail":
            parts.append(
                f"if ( {body} ); then echo 'expected {sample.page}:{sample.line} to fail' >&2;"
                " exit 1; fi"
            )
        else:
            parts.append(body)
    return "\n".join(parts) + "\n"


def _as_bash(language: str, code: str, tag: str) -> str:
    if language in {"bash", "sh"}:
        return f"\n{code}\n"
    interpreter = "python" if language == "python" else "node"
    return f"\n{interpreter} - <<'{tag}'\n{code}\n{tag}\n"
