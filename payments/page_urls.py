from django.urls import path

from . import views

app_name = "payments_pages"
urlpatterns = [
    path("order/<str:number>/", views.cashier, name="cashier"),
    path("order/<str:number>/start/", views.start, name="start"),
    path("<str:reference>/", views.pay, name="pay"),
    path("<str:reference>/status/", views.status, name="status"),
    path("<str:reference>/return/", views.returned, name="return"),
    path("sandbox/<str:reference>/", views.sandbox_page, name="sandbox"),
]
