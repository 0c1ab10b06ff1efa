"""Admin of marketing: report."""
