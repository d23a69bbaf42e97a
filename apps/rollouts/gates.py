"""Gates this app registers on upgrade transitions."""


def register_gates() -> None:
    """Filled in by the app: register its gates with apps.upgrades.gates.register()."""
