"""The dotted action name of each state-changing route, used for its `ok` rows and for the
rows of its denials and refusals; a route not named here is audited as `METHOD /template`."""

from __future__ import annotations

from typing import Final

ACTIONS: Final[dict[tuple[str, str], str]] = {
    ("POST", "/aitp/tasks"): "task.submit",
    ("DELETE", "/aitp/tasks/{task_id}"): "task.cancel",
    ("POST", "/aitp/tasks/{task_id}/retry"): "task.retry",
    ("PUT", "/aitp/tasks/{task_id}/priority"): "task.priority",
    ("PUT", "/aitp/tasks/{task_id}/timeout"): "task.timeout",
    ("POST", "/aitp/tasks/batch"): "batch.submit",
    ("DELETE", "/aitp/tasks/batch/{batch_id}"): "batch.cancel",
    ("POST", "/ains/agents"): "agent.register",
    ("PATCH", "/ains/agents/{agent_id}"): "agent.update",
    ("DELETE", "/ains/agents/{agent_id}"): "agent.deregister",
    ("POST", "/ains/keys"): "key.create",
    ("DELETE", "/ains/keys/{key_id}"): "key.revoke",
    ("POST", "/aitp/webhooks"): "webhook.create",
    ("PATCH", "/aitp/webhooks/{webhook_id}"): "webhook.update",
    ("PUT", "/aitp/webhooks/{webhook_id}"): "webhook.update",
    ("DELETE", "/aitp/webhooks/{webhook_id}"): "webhook.delete",
    ("POST", "/aitp/webhooks/{webhook_id}/test"): "webhook.test",
    ("POST", "/aitp/webhooks/{webhook_id}/enable"): "webhook.enable",
    ("POST", "/aitp/tasks/schedule"): "schedule.create",
    ("PUT", "/aitp/tasks/schedule/{schedule_id}"): "schedule.update",
    ("DELETE", "/aitp/tasks/schedule/{schedule_id}"): "schedule.delete",
    ("POST", "/aitp/tasks/schedule/{schedule_id}/pause"): "schedule.pause",
    ("POST", "/aitp/tasks/schedule/{schedule_id}/resume"): "schedule.resume",
    ("POST", "/aitp/tasks/schedule/{schedule_id}/execute"): "schedule.run_now",
    ("POST", "/aitp/templates"): "template.create",
    ("PUT", "/aitp/templates/{template_id}"): "template.update",
    ("PATCH", "/aitp/templates/{template_id}"): "template.update",
    ("DELETE", "/aitp/templates/{template_id}"): "template.delete",
    ("POST", "/aitp/templates/{template_id}/tasks"): "template.submit",
    ("POST", "/aitp/dlq/requeue"): "dlq.requeue",
    ("POST", "/aitp/dlq/{task_id}/requeue"): "dlq.requeue",
    ("DELETE", "/aitp/dlq"): "dlq.purge",
    ("POST", "/ains/admin/cleanup"): "admin.cleanup",
    ("POST", "/ains/admin/sweep-stale"): "admin.sweep_stale",
}
# the path parameter naming each route's target, and the target's type
TARGETS: Final[dict[str, str]] = {
    "task_id": "task",
    "batch_id": "batch",
    "agent_id": "agent",
    "key_id": "api_key",
    "webhook_id": "webhook",
    "schedule_id": "schedule",
    "template_id": "template",
}


def _key(method: str, template: str) -> tuple[str, str]:
    # `/ains/webhooks/…` is the same route as `/aitp/webhooks/…`
    if template.startswith("/ains/webhooks"):
        template = "/aitp" + template.removeprefix("/ains")
    return method, template


def action_of(method: str, template: str) -> str:
    return ACTIONS.get(_key(method, template), f"{method} {template}")


def is_audited_change(method: str, template: str) -> bool:
    return _key(method, template) in ACTIONS


def target_of(path_params: dict[str, str]) -> tuple[str, str] | None:
    for name, kind in TARGETS.items():
        if name in path_params:
            return kind, path_params[name]
    return None
