"""API plumbing shared by every domain: one error shape, pagination."""

from __future__ import annotations

from typing import Any

from django.core import signals
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from portal.core.errors import ApplicationError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten(item) for item in detail]
        return [str(item) if not isinstance(item, dict | list) else item for item in flat]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error, whatever raised it, answers `{"error": {"code", "message", "fields"?}}`."""
    if isinstance(exc, ApplicationError):
        headers = {}
        if "retry_after_s" in exc.extra:  # a quota that frees at a known time (RFC 9110 10.2.3)
            headers["Retry-After"] = str(int(exc.extra["retry_after_s"]))
        return Response(
            error_body(exc.code, exc.message, exc.fields), status=exc.status, headers=headers
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return _server_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if isinstance(fields, list):
            fields = {"non_field_errors": fields}
        first = next(iter(fields.items()), ("", [""]))
        message = f"Invalid input: {first[0]}: {first[1][0] if isinstance(first[1], list) and first[1] else first[1]}"
        response.data = error_body("invalid", message, fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(str(code), str(detail))
    return response


SERVER_ERROR_MESSAGE = "Something went wrong on our side; it has been logged. Try again later."


def _server_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An unhandled exception: the documented error shape instead of Django's HTML page.

    Logged exactly as Django logs an uncaught exception (the `django.request` logger, with the
    traceback, and the `got_request_exception` signal that error reporters listen to), so that
    answering JSON hides nothing from whoever reads the logs."""
    set_rollback()
    response = Response(
        error_body("server_error", SERVER_ERROR_MESSAGE),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
    request = getattr(context.get("request"), "_request", None)
    signals.got_request_exception.send(sender=None, request=request)
    log_response(
        "%s: %s",
        "Internal Server Error",
        getattr(request, "path", ""),
        response=response,
        request=request,
        exception=exc,
    )
    return response


def server_error_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)


def json_error(request: Any, code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def not_found_json(request: Any, exception: Exception | None = None) -> JsonResponse:
    return json_error(
        request, "not_found", "No such endpoint or resource.", status.HTTP_404_NOT_FOUND
    )
