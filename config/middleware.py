"""Response headers the whole site sends."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY with every response that has none.

    Django 5.2 has no CSP of its own. The policy allows no inline script anywhere;
    under CONTENT_SECURITY_POLICY_INLINE_STYLE_PATHS (the admin, DRF's browsable
    API), whose templates write inline styles, style-src also allows those.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = content_security_policy(request.path)
        return response


def content_security_policy(path: str) -> str:
    """The header's value for a page at `path`."""
    directives = dict(settings.CONTENT_SECURITY_POLICY)
    if path.startswith(settings.CONTENT_SECURITY_POLICY_INLINE_STYLE_PATHS):
        directives["style-src"] = f"{directives['style-src']} 'unsafe-inline'"
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())
