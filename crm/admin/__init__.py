"""The back office of the customer record (客户): the customer list and page, tags,
segment thresholds and saved segments (export, issue a coupon).

Profiles come from crm.segments (nightly, or when a customer's page is opened
before their first refresh): nobody adds or deletes them by hand. Every page
and action checks the staff member's permissions on the model it reads or
writes.

One module per page: customers (the list, its actions and each customer's page),
segments (the thresholds and saved segments), tags; common holds what they share.
"""

from . import customers, segments, tags  # noqa: F401  (registers the admins)
