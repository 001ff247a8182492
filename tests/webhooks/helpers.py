from __future__ import annotations

from typing import Any

import httpx

from tests.support.server import wait_for


def register(
    api: httpx.Client, url: str, events: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": events or ["*"], **fields}
    r = api.post("/aitp/webhooks", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def deliveries(api: httpx.Client, webhook_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/aitp/webhooks/{webhook_id}/deliveries", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def wait_types(receiver: Any, wanted: set[str], timeout: float = 15) -> list[str]:
    return list(
        wait_for(
            lambda: wanted <= set(receiver.types()) and receiver.types(),
            timeout=timeout,
            message=f"webhook events {wanted}",
        )
    )
