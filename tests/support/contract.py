"""Checking real answers against `/openapi.json`: an httpx transport that validates every
response it carries against the schema its route documents for that status and content type
(JSON Schema 2020-12, as OpenAPI 3.1 uses), and records what it saw."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs
import orjson

# an ISO 8601 date-time as the API writes one
# fields holding what clients or agents sent, returned as they sent it
CLIENT_DATA = frozenset(
    {"input_data", "result_data", "metadata", "progress", "payload", "detail", "details"}
)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


@dataclass
class Contract:
    spec: dict[str, Any]
    seen: set[tuple[str, str, int]] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    timestamps: list[tuple[str, str]] = field(default_factory=list)
    _routes: list[tuple[str, re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for template, operations in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
            for method in operations:
                self._routes.append((method.upper(), pattern, template))
        # fixed paths before templated ones (/aitp/tasks/batch before /aitp/tasks/{task_id})
        self._routes.sort(key=lambda r: r[2].count("{"))

    def route_of(self, method: str, path: str) -> str | None:
        for m, pattern, template in self._routes:
            if m == method and pattern.match(path):
                return template
        return None

    def check(self, request: httpx.Request, response: httpx.Response) -> None:
        where = f"{request.method} {request.url.path} → {response.status_code}"
        template = self.route_of(request.method, request.url.path)
        if template is None:
            self.violations.append(f"{where}: no such route in /openapi.json")
            return
        self.seen.add((request.method, template, response.status_code))
        operation = self.spec["paths"][template][request.method.lower()]
        documented = operation["responses"].get(str(response.status_code))
        if documented is None:
            self.violations.append(f"{where}: status not documented for {template}")
            return
        content = documented.get("content", {})
        if not response.content:
            if content and response.status_code != 204:
                self.violations.append(f"{where}: empty body, documented {sorted(content)}")
            return
        media = response.headers.get("content-type", "").partition(";")[0].strip()
        if media not in content:
            self.violations.append(f"{where}: sent {media}, documented {sorted(content)}")
            return
        schema = content[media].get("schema", {})
        if not schema:
            self.violations.append(f"{where}: documented with an empty schema")
            return
        if media.endswith("json"):
            self._validate(where, schema, orjson.loads(response.content))

    def _validate(self, where: str, schema: dict[str, Any], body: Any) -> None:
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": self.spec.get("components", {})}
        )
        for error in validator.iter_errors(body):
            path = "/".join(str(p) for p in error.instance_path)
            self.violations.append(f"{where}: at /{path}: {error.message}")
        self._collect_timestamps(where, body)

    def _collect_timestamps(self, where: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in CLIENT_DATA:  # what clients stored is theirs, times included
                    self._collect_timestamps(where, item)
        elif isinstance(value, list):
            for item in value:
                self._collect_timestamps(where, item)
        elif isinstance(value, str) and TIMESTAMP.match(value):
            self.timestamps.append((where, value))


class CheckedTransport(httpx.HTTPTransport):
    def __init__(self, contract: Contract) -> None:
        super().__init__()
        self.contract = contract

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.contract.check(request, response)
        return response


class AsyncCheckedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, contract: Contract) -> None:
        super().__init__()
        self.contract = contract

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        await response.aread()
        self.contract.check(request, response)
        return response
