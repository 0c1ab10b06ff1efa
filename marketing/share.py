"""The distributor's share kit (分享赚): what sharing a product earns them, its link
with their referral code, and the posters (推广海报)."""


def kit_for(user, product):
    """The share kit a distributor sees on `product`'s page (None for anyone else)."""
    return None
