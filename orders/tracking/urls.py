from django.urls import path

from . import views

app_name = "tracking"
urlpatterns = [
    path("kuaidi100/push/", views.kuaidi100_push, name="kuaidi100_push"),
]
