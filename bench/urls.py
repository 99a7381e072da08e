from django.contrib import admin
from django.urls import path

import bench.admin  # noqa: F401  (registers the CustomerAdmin)
from comptoir.urls import urlpatterns as product_urlpatterns

urlpatterns = [path("django-admin/", admin.site.urls), *product_urlpatterns]
