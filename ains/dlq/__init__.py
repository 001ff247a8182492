"""The dead-letter queue: tasks that failed for good, listed, requeued and purged."""
