from django.urls import path

from . import views

urlpatterns = [path("<str:code>/", views.referral, name="referral")]
