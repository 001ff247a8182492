"""Schedules: cron and one-time task schedules."""
