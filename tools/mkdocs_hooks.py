"""mkdocs hook: the API reference page (`reference.md`) is generated from the server's own
OpenAPI document at build time, so it cannot drift from the code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

# mkdocs loads hooks by path; the server package and this folder live beside mkdocs.yml
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.openapi_markdown import render_reference


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    files.append(File.generated(config, "reference.md", content=render_reference()))
    return files
