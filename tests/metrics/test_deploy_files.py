"""deploy/, Dockerfile and docker-compose.yml parse and point at each other correctly."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import require_executable

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIGS = {
    "prometheus.yml": ["ains-1:8000", "ains-2:8000"],
    "prometheus.local.yml": ["127.0.0.1:8000"],
}


def load_yaml(relative: str) -> Any:
    return yaml.safe_load((REPO / relative).read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml("docker-compose.yml")
    return data


@pytest.mark.parametrize(("name", "targets"), sorted(PROMETHEUS_CONFIGS.items()))
def test_prometheus_scrapes_ains_every_5s(name: str, targets: list[str]) -> None:
    config = load_yaml(f"deploy/prometheus/{name}")
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "ains"]
    assert job["scrape_interval"] == "5s"
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert [t for group in job["static_configs"] for t in group["targets"]] == targets


@pytest.mark.parametrize("name", sorted(PROMETHEUS_CONFIGS))
def test_promtool_accepts_the_config(name: str, tmp_path: Path) -> None:
    promtool = require_executable("promtool", "apt-get install prometheus")
    path = REPO / "deploy" / "prometheus" / name
    config = load_yaml(f"deploy/prometheus/{name}")
    for job in config["scrape_configs"]:
        if "credentials_file" in job.get("authorization", {}):
            # written by the container's entrypoint at start; promtool insists that it exists
            token = tmp_path / "token"
            token.write_text("t")
            job["authorization"]["credentials_file"] = str(token)
            path = tmp_path / name
            path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_provisioning_matches_the_dashboards() -> None:
    datasources = load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml")
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"] == "prometheus"  # the dashboards' default datasource
    assert source["url"] == "http://prometheus:9090"

    providers = load_yaml("deploy/grafana/provisioning/dashboards/ains.yml")
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_compose_services() -> None:
    services = compose()["services"]
    assert set(services) >= {
        "postgres", "redis", "init", "ains-1", "ains-2", "agent-1", "agent-2", "prometheus",
        "grafana",
    }  # fmt: skip
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"

    init = services["init"]
    assert init["restart"] == "no"
    assert "ains db upgrade" in init["command"][-1]
    assert "ains keys create --role admin" in init["command"][-1]
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"

    for name in ("ains-1", "ains-2"):
        replica = services[name]
        env = replica["environment"]
        assert env["AINS_DATABASE_URL"] == "postgresql://ains:ains@postgres:5432/ains"
        assert env["AINS_REDIS_URL"] == "redis://redis:6379/0"
        assert replica["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert replica["command"][:4] == ["ains", "serve", "--host", "0.0.0.0"]

    for name in ("agent-1", "agent-2"):
        agent = services[name]
        assert agent["command"] == ["ains", "agent", "-c", "sample-v1", "--handler", "echo"]
        assert agent["environment"]["AINS_URL"].startswith("http://ains-")
        assert agent["environment"]["AINS_API_KEY"] == "${AINS_AGENT_API_KEY:-}"


def test_compose_mounts_exist() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), source


def test_dockerfile() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert text.count("FROM python:3.11-slim") == 1
    assert "pip install ." in text
    assert 'CMD ["ains", "serve", "--host", "0.0.0.0"' in text
    assert "ains keys create --role admin" in text  # the admin-key note
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                if source != "README.md":  # the core writes it; the build needs it
                    assert (REPO / source).exists(), source


def test_compose_prometheus_scrapes_with_the_metrics_token() -> None:
    config = load_yaml("deploy/prometheus/prometheus.yml")
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "ains"]
    credentials = job["authorization"]["credentials_file"]
    assert job["authorization"]["type"] == "Bearer"
    services = compose()["services"]
    prometheus = services["prometheus"]
    assert prometheus["environment"]["AINS_METRICS_TOKEN"] == "${AINS_METRICS_TOKEN:-}"
    assert f"> {credentials}" in prometheus["command"][-1]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"][-1]
    for name in ("ains-1", "ains-2"):
        assert services[name]["environment"]["AINS_METRICS_TOKEN"] == "${AINS_METRICS_TOKEN:-}"
    assert "AINS_METRICS_TOKEN=" in (REPO / "deploy/compose.env.example").read_text()
