from django.urls import path

from . import views

app_name = "support"
urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("new/", views.start, name="start"),
    path("<int:pk>/", views.conversation, name="conversation"),
    path("<int:pk>/post/", views.post, name="post"),
    path("<int:pk>/poll/", views.poll, name="poll"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/rate/", views.rate, name="rate"),
    path("pictures/<int:pk>/", views.attachment, name="attachment"),
]
