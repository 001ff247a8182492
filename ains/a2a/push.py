"""A2A push-notification configs as our signed webhooks about one task: the config's `token`
is the webhook's signing secret (one is made when the config names none, and answered once)."""

from __future__ import annotations

from a2a.types.a2a_pb2 import TaskPushNotificationConfig
from a2a.utils.errors import InvalidParamsError
from pydantic import ValidationError

from ains.webhooks.schemas import WebhookIn
from ains.webhooks.signing import generate_secret

# every event of the task: created, assigned, started, progress, retrying, finished
EVENTS = ["task.*"]


def webhook_for(params: TaskPushNotificationConfig) -> WebhookIn:
    if params.HasField("authentication"):
        raise InvalidParamsError(
            "authentication: not supported; deliveries are signed with the config's token"
        )
    try:
        return WebhookIn(
            url=params.url,
            events=EVENTS,
            secret=params.token or generate_secret(),
            description=f"A2A push notifications for task {params.task_id}",
        )
    except ValidationError as exc:
        raise InvalidParamsError(f"push notification config: {exc}") from exc


def config(
    task_id: str, webhook_id: str, url: str, token: str | None = None
) -> TaskPushNotificationConfig:
    answer = TaskPushNotificationConfig(id=webhook_id, task_id=task_id, url=url)
    if token is not None:
        answer.token = token
    return answer
