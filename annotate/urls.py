from django.urls import path

from annotate import views

app_name = "annotate"

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<slug:slug>/", views.project_detail, name="project"),
    path("p/<slug:slug>/export/", views.project_export, name="project_export"),
    path(
        "p/<slug:slug>/export/<int:job_id>/",
        views.project_export_job,
        name="project_export_job",
    ),
    path(
        "p/<slug:slug>/export/<int:job_id>/status/",
        views.project_export_job_status,
        name="project_export_job_status",
    ),
    path(
        "p/<slug:slug>/export/<int:job_id>/file/",
        views.project_export_file,
        name="project_export_file",
    ),
    path("p/<slug:slug>/quality/", views.project_quality, name="project_quality"),
    path(
        "p/<slug:slug>/quality/<slug:name>.png",
        views.project_quality_plot,
        name="project_quality_plot",
    ),
    path("p/<slug:slug>/label/", views.label_next, name="label"),
    path("p/<slug:slug>/my-work/", views.my_work, name="my_work"),
    path("p/<slug:slug>/task/<int:assignment_id>/", views.task, name="task"),
    path("p/<slug:slug>/task/<int:assignment_id>/submit/", views.submit, name="submit"),
    path("p/<slug:slug>/task/<int:assignment_id>/skip/", views.skip, name="skip"),
    path(
        "p/<slug:slug>/task/<int:assignment_id>/draft/",
        views.draft_save,
        name="draft",
    ),
    path(
        "p/<slug:slug>/task/<int:assignment_id>/skip-page/",
        views.skip_page,
        name="skip_page",
    ),
]
