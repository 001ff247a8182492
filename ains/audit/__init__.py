"""The audit trail: one row per state-changing operation, denial or refusal."""
