"""The checkout form's fields for a new delivery address, as a shopper types them."""

NEW_ADDRESS = {
    "address": "new",
    "new-recipient_name": "王五",
    "new-phone": "13800138000",
    "new-province": "北京市",
    "new-city": "北京市",
    "new-district": "朝阳区",
    "new-detail": "建国路 1 号",
}
