from django.urls import path

from . import views

app_name = "commissions"
urlpatterns = [
    path("", views.earnings, name="earnings"),
    path("<int:pk>/", views.commission_detail, name="detail"),
]
