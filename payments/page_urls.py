from django.urls import path

from . import views

app_name = "payments_pages"
urlpatterns = [
    path("order/<str:number>/", views.start, name="start"),
    path("sandbox/<str:reference>/", views.sandbox_page, name="sandbox"),
]
