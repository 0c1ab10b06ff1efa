"""Admin of marketing: coupons."""
