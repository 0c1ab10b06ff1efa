from django.urls import path

from . import views

app_name = "commissions"
urlpatterns = [
    path("", views.earnings, name="earnings"),
    path("<int:pk>/", views.commission_detail, name="detail"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("withdrawals/", views.withdrawal_list, name="withdrawals"),
    path("withdrawals/<int:pk>/", views.withdrawal_detail, name="withdrawal_detail"),
]
