"""What this app adds to the demo seed (apps.core.seed.register_before hooks)."""


def register() -> None:
    """Filled in by the app."""
