"""What `ains mcp` checks before it starts: that the server answers and takes the key. The MCP
handshake's errors carry no detail, so a refusal is read here, from REST's problem+json; and
before the SDK is imported, so a refused key ends the command at once."""

from __future__ import annotations

import httpx


class CannotConnect(Exception):
    """The server refused the key or could not be reached; the message says which."""


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"{response.status_code} {detail or body}"


def check(url: str, api_key: str | None) -> None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{url}/aitp/queue/stats", headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise CannotConnect(f"cannot reach the AINS server at {url}: {exc}") from None
    if response.status_code != 200:
        raise CannotConnect(f"the AINS server at {url} refused: {_problem(response)}")
