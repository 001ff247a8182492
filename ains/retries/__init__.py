"""Retry policy: pure backoff decisions for failed task attempts."""
