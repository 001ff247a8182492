"""Adapters that speak other systems' API shapes over the same services."""
