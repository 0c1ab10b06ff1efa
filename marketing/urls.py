from django.urls import path

from .views import boards, coupons, share

app_name = "marketing"
urlpatterns = [
    path("coupons/", coupons.coupon_centre, name="coupon_centre"),
    path("coupons/mine/", coupons.my_coupons, name="my_coupons"),
    path("coupons/<int:pk>/claim/", coupons.claim, name="claim_coupon"),
    path("share/poster/shop.png", share.shop_poster, name="shop_poster"),
    path("share/poster/product/<slug:slug>.png", share.product_poster, name="product_poster"),
    path("distributor/leaderboard/", boards.leaderboard, name="leaderboard"),
    path("distributor/leaderboard/<slug:board>/", boards.leaderboard, name="leaderboard"),
    path("distributor/contests/", boards.contest_list, name="contest_list"),
    path("distributor/contests/<int:pk>/", boards.contest_detail, name="contest_detail"),
]
