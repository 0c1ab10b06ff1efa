"""Admin of marketing: discounts."""
