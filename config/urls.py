"""Top-level URL routes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

from annotate.throttling import login_throttled

urlpatterns = [
    # Before admin.site.urls, so its login is throttled like the site's.
    path("admin/login/", login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        login_throttled(auth_views.LoginView.as_view()),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        TemplateView.as_view(template_name="api/docs.html"),
        name="api-docs",
    ),
    path("", include("annotate.urls")),
]

handler400 = "api.errors.bad_request"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
