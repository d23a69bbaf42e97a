"""Execution-run tasks (thin wrappers around apps.execution.runs services)."""
