"""The API's documentation pages, Swagger UI and ReDoc, served from this origin under the site's CSP.

Their files come from drf-spectacular-sidecar (SPECTACULAR_SETTINGS). Swagger UI is drf-spectacular's split view: its
start-up script is a second request to the same URL (`?script`), not an inline script the CSP would refuse. Their
templates (frontend/templates/frontend/api_docs/) move drf-spectacular's inline <style> to frontend/api_docs.css.
"""

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


# swagger-ui.css draws its icons as data: images; the rest of the site needs none.
@method_decorator(csp_update({"img-src": ["data:"]}), name="dispatch")
class SwaggerUIView(SpectacularSwaggerSplitView):
    template_name = "frontend/api_docs/swagger_ui.html"


# ReDoc, on its page only: styled-components inserts <style> elements at run time (an inline style can restyle the
# page, not run code), its icons are data: images, and its search runs in a worker built from a blob: of its own code.
# Scripts stay 'self'. Its "API docs by Redocly" logo, from cdn.redoc.ly, stays refused (ReDoc hides it): a page of a
# self-hosted product does not call a third party.
@method_decorator(
    csp_update({"style-src": ["'self'", "'unsafe-inline'"], "img-src": ["data:"], "worker-src": ["'self'", "blob:"]}),
    name="dispatch",
)
class RedocView(SpectacularRedocView):
    template_name = "frontend/api_docs/redoc.html"
