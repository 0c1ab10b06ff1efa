from django.urls import path

from .views import coupons

app_name = "marketing"
urlpatterns = [
    path("coupons/", coupons.coupon_centre, name="coupon_centre"),
]
