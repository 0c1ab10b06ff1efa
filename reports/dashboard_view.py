"""The dashboard's context (filled in by reports.dashboard)."""


def dashboard_context(site, request) -> dict:
    return {}
