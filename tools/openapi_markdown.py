"""Render the server's `/openapi.json` as one Markdown page: every operation with its
parameters, request body fields and answers. Used by the docs build (`tools/mkdocs_hooks.py`)."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

HEADER = """# API reference

Generated from the server's OpenAPI document (`GET /openapi.json`) when the docs are built.
A running server also serves it as `/docs` (Swagger UI). Errors are problem+json
(see [the protocol](protocol.md)).
"""


def load_spec() -> JSON:
    from ains.app import create_app

    spec: JSON = create_app().openapi()
    return spec


def render_reference(spec: JSON | None = None) -> str:
    spec = spec if spec is not None else load_spec()
    sections: dict[str, list[str]] = {}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            tag = (operation.get("tags") or [_area_of(path)])[0]
            sections.setdefault(tag, []).append(_operation(spec, method, path, operation))
    parts = [HEADER]
    for tag in sorted(sections):
        parts.append(f"## {tag}\n")
        parts.extend(sections[tag])
    return "\n".join(parts)


def _area_of(path: str) -> str:
    segments = [s for s in path.split("/") if s and not s.startswith("{")]
    if len(segments) >= 2 and segments[0] in {"aitp", "ains"}:
        return segments[1]
    return segments[0] if segments else "root"


def _operation(spec: JSON, method: str, path: str, operation: JSON) -> str:
    lines = [f"### `{method.upper()} {path}`\n"]
    summary = operation.get("summary")
    if summary:
        lines.append(f"{summary}.\n")
    description = operation.get("description")
    if description:
        lines.append(f"{description.strip()}\n")
    parameters = operation.get("parameters") or []
    if parameters:
        lines.append("| parameter | in | type | required | description |")
        lines.append("|---|---|---|---|---|")
        for parameter in parameters:
            schema = _resolve(spec, parameter.get("schema", {}))
            lines.append(
                f"| `{parameter['name']}` | {parameter.get('in', '')} | {_type_of(spec, schema)} "
                f"| {'yes' if parameter.get('required') else 'no'} "
                f"| {_cell(parameter.get('description') or schema.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        lines.extend(_body(spec, body))
    lines.append("| answer | meaning |")
    lines.append("|---|---|")
    for status, response in sorted(operation.get("responses", {}).items()):
        lines.append(f"| {status} | {_cell(_response_text(spec, response))} |")
    lines.append("")
    return "\n".join(lines)


def _body(spec: JSON, body: JSON) -> list[str]:
    content = body.get("content", {})
    media, payload = next(iter(content.items()), ("application/json", JSON()))
    schema = _resolve(spec, payload.get("schema", {}))
    properties = schema.get("properties", {})
    lines = [f"Request body (`{media}`):\n"]
    if not properties:
        lines.append(f"{_type_of(spec, schema)}\n")
        return lines
    required = set(schema.get("required", []))
    lines.append("| field | type | required | description |")
    lines.append("|---|---|---|---|")
    for name, field in properties.items():
        resolved = _resolve(spec, field)
        lines.append(
            f"| `{name}` | {_type_of(spec, resolved)} | {'yes' if name in required else 'no'} "
            f"| {_cell(resolved.get('description', ''))} |"
        )
    lines.append("")
    return lines


def _response_text(spec: JSON, response: JSON) -> str:
    response = _resolve(spec, response)
    text = str(response.get("description", ""))
    for media, payload in response.get("content", {}).items():
        schema = payload.get("schema", {})
        reference = schema.get("$ref")
        name = reference.rsplit("/", 1)[-1] if reference else _type_of(spec, schema)
        if name and name != "any":
            text += f" — `{media}` {name}"
    return text


def _resolve(spec: JSON, schema: JSON) -> JSON:
    seen = 0
    while "$ref" in schema and seen < 16:
        target: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
        seen += 1
    return schema


def _type_of(spec: JSON, schema: JSON) -> str:
    if "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[-1])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            names = [_type_of(spec, option) for option in schema[combinator]]
            return " or ".join(dict.fromkeys(names))
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_of(spec, schema.get('items', {}))}"
    if "enum" in schema:
        return " / ".join(f"`{value}`" for value in schema["enum"])
    return str(kind) if kind else "any"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
