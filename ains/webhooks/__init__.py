"""Webhooks: endpoints, signed deliveries and SSRF checks."""
