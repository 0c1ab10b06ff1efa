"""The customer-service back office (客服): the inbox and each conversation's page,
the staff figures, canned replies and the service settings.

One module per page: conversations (the inbox, a conversation, their polls),
figures (客服统计), replies (canned replies and settings); forms and common hold
what they share.
"""

from . import conversations, replies  # noqa: F401  (registers the admins)
