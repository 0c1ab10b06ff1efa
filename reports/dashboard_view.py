"""The dashboard's context (filled in by reports.dashboard)."""


def dashboard_context(request) -> dict:
    return {}
