"""Admin of marketing: contests."""
