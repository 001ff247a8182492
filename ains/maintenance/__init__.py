"""Maintenance: retention (pruning old rows by age, per kind, optionally archived first), the
stale-task sweep and table statistics, for the admin endpoints, the CLI and the engine loop."""
