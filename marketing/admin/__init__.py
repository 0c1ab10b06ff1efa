"""The back office of promotions, one module per topic."""

from . import contests, coupons, discounts, report, rewards  # noqa: F401  (registers the admins)
