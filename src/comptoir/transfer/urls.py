"""URLs of the transfer section: the import wizard and its jobs (``views.importing``), and the
exports (``views.exporting``)."""

from django.urls import path

from comptoir.transfer.views import exporting, importing

app_name = "transfer"
urlpatterns: list = [
    path("import/", importing.import_start, name="import"),
    path("import/<int:pk>/", importing.import_job, name="import_job"),
    path("import/<int:pk>/mapping/", importing.import_mapping, name="import_mapping"),
    path("import/<int:pk>/options/", importing.import_options, name="import_options"),
    path("import/<int:pk>/status/", importing.import_status, name="import_status"),
    path("import/<int:pk>/run/", importing.import_run, name="import_run"),
    path("import/<int:pk>/undo/", importing.import_undo, name="import_undo"),
    path(
        "import/<int:pk>/rejected.csv",
        importing.import_rejections_csv,
        name="import_rejections",
    ),
    path("export/", exporting.export, name="export"),
    path("exports/", exporting.exports, name="exports"),
    path("exports/<str:job_id>/download/", exporting.export_download, name="export_download"),
]
