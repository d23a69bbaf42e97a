"""The gates apps/configuration owns: staging evidence before the CAB, a pre-upgrade snapshot before start."""


def staging_evidence(request) -> list[str]:
    from .selectors import submit_reasons

    return submit_reasons(request)


def pre_upgrade_snapshot(request) -> list[str]:
    from .selectors import start_reasons

    return start_reasons(request)


def register_gates() -> None:
    from apps.upgrades import gates

    gates.register("submit_to_cab", "configuration_staging_evidence", "configuration", staging_evidence)
    gates.register("start", "configuration_pre_upgrade_snapshot", "configuration", pre_upgrade_snapshot)
