from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [path("notify/<str:gateway_code>/", views.notify, name="notify")]
