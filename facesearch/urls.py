from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from facesearch.core.api_docs import RedocView, SwaggerUIView
from facesearch.core.metrics import metrics_view
from facesearch.core.views import healthz

admin.site.site_header = "facesearch administration"
admin.site.site_title = "facesearch admin"
admin.site.index_title = "People, photos and libraries"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", RedirectView.as_view(url=static("frontend/icon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUIView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/", include("facesearch.api_urls")),
    path("", include("frontend.urls")),
]

# Errors raised outside a DRF view (no route matches, a request limit, an unhandled exception): JSON under /api/.
handler400 = "facesearch.core.errors.bad_request"
handler403 = "facesearch.core.errors.permission_denied"
handler404 = "facesearch.core.errors.page_not_found"
handler500 = "facesearch.core.errors.server_error"
