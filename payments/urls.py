from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("notify/<str:gateway_code>/", views.notify, name="notify"),
    path("notify/<str:gateway_code>/<str:kind>/", views.notify_kind, name="notify_kind"),
]
