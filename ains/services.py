"""Wiring: every service and engine loop, built once from the settings.

Each object receives its collaborators as constructor arguments, in an order where each is
built after what it needs; nothing is changed on an object after it is built (a test in
tests/architecture holds this). Endpoints read the built services from the container."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ains.agents.service import AgentService
from ains.analytics.rollup import RollupFolder
from ains.analytics.service import AnalyticsService
from ains.batches.service import BatchService
from ains.clock import Clock, utcnow
from ains.config import Settings
from ains.db.engine import Database, create_engine
from ains.dlq.service import DlqService
from ains.drain import Drain
from ains.engine.deadlines import DeadlineLoop, Duty
from ains.engine.loop import Loop
from ains.engine.retention import RetentionLoop
from ains.engine.scheduler import scheduler_duty
from ains.engine.waiters import AgentWaiters
from ains.engine.webhook_sender import WebhookSender
from ains.events.bus import Bus, create_bus
from ains.events.redis_fanout import RESET_TOPIC, RedisFanout
from ains.events.stream import KEY_REVOKED_TOPIC, StreamHub
from ains.maintenance.service import MaintenanceService
from ains.metrics.business import observe_events
from ains.queue.service import QueueService
from ains.schedules.service import ScheduleService
from ains.security.auth import KEYS_CREATED_TOPIC, Authenticator
from ains.security.crypto import KeyRing
from ains.security.ratelimit import RateLimits
from ains.tasks.control import TaskControl
from ains.tasks.execution import ExecutionService
from ains.tasks.group_commit import GroupCommitter
from ains.tasks.service import TaskService
from ains.templates.service import TemplateService
from ains.webhooks.delivery import Deliverer
from ains.webhooks.service import WebhookService

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    bus: Bus
    keyring: KeyRing | None
    auth: Authenticator
    rate_limits: RateLimits
    tasks: TaskService
    execution: ExecutionService
    control: TaskControl
    agents: AgentService
    waiters: AgentWaiters
    deadlines: DeadlineLoop
    schedules: ScheduleService
    batches: BatchService
    templates: TemplateService
    queue: QueueService
    webhooks: WebhookService
    webhook_sender: WebhookSender
    streams: StreamHub
    rollups: RollupFolder
    maintenance: MaintenanceService
    retention: RetentionLoop
    dlq: DlqService
    analytics: AnalyticsService
    drain: Drain = field(default_factory=Drain)
    redis: RedisFanout | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.bus.start()
        if self.redis is not None:
            await self.redis.start()
        await self.rate_limits.start()
        loop = asyncio.get_running_loop()
        self.background = [
            loop.create_task(self.deadlines.run(), name="deadlines"),
            loop.create_task(self.webhook_sender.run(), name="webhook-sender"),
            loop.create_task(self.streams.fanout.run(), name="event-streams"),
            loop.create_task(self.streams.key_recheck.run(), name="stream-key-recheck"),
            loop.create_task(self.rollups.run(), name="analytics-rollups"),
            loop.create_task(self.retention.run(), name="retention"),
        ]

    def loops(self) -> list[Loop]:
        return [
            self.deadlines.loop,
            self.webhook_sender.loop,
            self.streams.fanout,
            self.streams.key_recheck,
            self.rollups.loop,
            self.retention.loop,
        ]

    async def stop(self) -> None:
        for each in self.loops():
            each.stop()
        for task in self.background:
            task.cancel()
        for task in self.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.stop()
        await self.rate_limits.stop()
        await self.auth.denials.flush()  # denials still being counted
        await self.db.dispose()


def _events_committed(bus: Bus) -> Callable[[list[dict[str, Any]]], None]:
    """What follows each commit that wrote events: the business counters, and an ``events``
    message that wakes the stream fan-out, the webhook sender and the rollups."""

    def committed(rows: list[dict[str, Any]]) -> None:
        observe_events(rows)
        bus.publish("events", "")

    return committed


def build_services(settings: Settings, clock: Clock = utcnow) -> Services:
    bus = create_bus(settings.database_url)
    db = Database(create_engine(settings.database_url), on_events=_events_committed(bus))
    keyring = KeyRing.from_config(settings.encryption_keys)
    committer = GroupCommitter(db, bus, settings.aging_interval)
    tasks = TaskService(settings, clock, bus, keyring, committer)
    execution = ExecutionService(settings, clock, bus, keyring)
    control = TaskControl(tasks, execution)
    schedules = ScheduleService(settings, clock, bus, tasks)
    batches = BatchService(tasks, control)
    queue = QueueService(tasks)
    deadlines = DeadlineLoop(
        db,
        control,
        bus,
        clock,
        duties=(scheduler_duty(schedules), Duty(queue.escalate_deadlines, queue.next_escalation)),
    )
    deliverer = Deliverer(settings.webhook_allowed_hosts, settings.webhook_timeout_seconds)
    auth = Authenticator(settings, db, clock)
    # a key revoked on any replica drops out of this replica's key cache at once
    bus.subscribe(KEY_REVOKED_TOPIC, auth.forget_key_id)
    bus.subscribe(KEYS_CREATED_TOPIC, auth.forget_all)
    bus.subscribe(RESET_TOPIC, auth.forget_all)
    redis = (
        RedisFanout(settings.redis_url, bus, (KEY_REVOKED_TOPIC, KEYS_CREATED_TOPIC))
        if settings.redis_url
        else None
    )
    webhooks = WebhookService(settings, clock, deliverer, keyring)
    maintenance = MaintenanceService(settings, clock, db, control)
    waiters = AgentWaiters(bus)
    streams = StreamHub(
        db, bus, settings.max_streams_per_principal, settings.stream_key_recheck_seconds
    )
    # on SIGTERM: parked claims answer at once and streams end
    drain = Drain((waiters.wake_all, streams.registry.end_all))
    rate_limits = RateLimits(
        settings.rate_limit_rules,
        settings.redis_url,
        settings.rate_limit_key_prefix,
        on_refused=auth.denials.rate_limited,
    )
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        bus=bus,
        keyring=keyring,
        auth=auth,
        rate_limits=rate_limits,
        tasks=tasks,
        execution=execution,
        control=control,
        agents=AgentService(settings, clock, bus, control),
        waiters=waiters,
        deadlines=deadlines,
        schedules=schedules,
        batches=batches,
        templates=TemplateService(tasks, batches),
        queue=queue,
        webhooks=webhooks,
        webhook_sender=WebhookSender(db, webhooks, bus, clock, settings.webhook_max_concurrency),
        streams=streams,
        rollups=RollupFolder(db, bus),
        maintenance=maintenance,
        retention=RetentionLoop(maintenance, bus, settings.retention_interval_seconds),
        dlq=DlqService(tasks, control, clock),
        analytics=AnalyticsService(db, clock),
        drain=drain,
        redis=redis,
    )
