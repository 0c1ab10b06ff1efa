from django.urls import path

from . import views

app_name = "distributors"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("join/", views.join, name="join"),
    path("invite-qr/<slug:code>.<slug:fmt>", views.invite_qr, name="invite_qr"),
    path("team/", views.team, name="team"),
    path("team/<int:pk>/", views.team_member, name="team_member"),
    path("customers/", views.customers, name="customers"),
    path("training/", views.training_list, name="training_list"),
    path("training/<int:pk>/", views.training_detail, name="training_detail"),
    path("training/<int:pk>/file/", views.training_file, name="training_file"),
]
