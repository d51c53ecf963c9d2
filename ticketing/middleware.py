"""Request guards that answer before any view runs."""

from django.conf import settings
from django.http import JsonResponse

from .errors import error_body


class BodySizeLimitMiddleware:
    """Refuse a request whose body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (default 64 KiB)
    with 413 ``payload_too_large`` (api.md "Errors"), before the body is read.

    Staff pages under ``/admin/`` (seating-plan uploads are ~0.5 MB) get
    ``ADMIN_UPLOAD_MAX_BYTES`` (default 5 MiB). A missing or malformed ``Content-Length`` is left
    to Django, which reads at most the limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = (settings.ADMIN_UPLOAD_MAX_BYTES if request.path.startswith("/admin/")
                 else settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return JsonResponse(
                error_body("payload_too_large", f"The request body is over {limit} bytes.",
                           {"limit_bytes": limit}),
                status=413,
            )
        return self.get_response(request)
