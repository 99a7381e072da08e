"""A URL configuration other than the product's (tests/core/test_links.py)."""

from django.http import HttpResponse
from django.urls import include, path

customers = ([path("", lambda request: HttpResponse(), name="list")], "customers")
urlpatterns = [path("elsewhere/", include(customers))]
