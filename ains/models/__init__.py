"""Every table; importing this module fills `ains.db.base.metadata` (Alembic's target)."""

from ains.db.base import metadata
from ains.models.agents import agent_capabilities, agents
from ains.models.analytics import task_rollup_deltas, task_rollups
from ains.models.batches import batches, templates
from ains.models.events import events
from ains.models.routing import capability_trust, routing_decisions
from ains.models.schedules import schedule_executions, scheduled_tasks
from ains.models.security import api_keys, audit_log, server_state
from ains.models.tasks import idempotency_keys, task_attempts, task_dependencies, tasks
from ains.models.trust_records import trust_records
from ains.models.webhooks import webhook_attempts, webhook_cursor, webhook_deliveries, webhooks

__all__ = [
    "agent_capabilities",
    "agents",
    "api_keys",
    "audit_log",
    "batches",
    "capability_trust",
    "events",
    "idempotency_keys",
    "metadata",
    "routing_decisions",
    "schedule_executions",
    "scheduled_tasks",
    "server_state",
    "task_attempts",
    "task_dependencies",
    "task_rollup_deltas",
    "task_rollups",
    "tasks",
    "templates",
    "trust_records",
    "webhook_attempts",
    "webhook_cursor",
    "webhook_deliveries",
    "webhooks",
]
