"""Health-check tasks (thin wrappers around apps.execution.health services)."""
