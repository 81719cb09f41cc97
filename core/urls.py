from django.urls import path

from . import views

urlpatterns = [
    path("two-factor/", views.two_factor_setup, name="two_factor_setup"),
]
