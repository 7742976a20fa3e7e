from __future__ import annotations

from typing import Any

from django.contrib import admin

from portal.review.models import Decision, Notification, ReasonTemplate, ReviewClaim, Takedown


def _is_staff_role(request: Any) -> bool:
    return bool(getattr(request.user, "is_platform_staff", False) or request.user.is_superuser)


@admin.register(ReasonTemplate)
class ReasonTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Staff accounts edit the reasons curators choose from, without per-model permissions."""

    list_display = ("title", "code", "is_active", "position")
    list_editable = ("is_active", "position")
    search_fields = ("title", "code", "text")

    def has_module_permission(self, request: Any) -> bool:
        return _is_staff_role(request)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return _is_staff_role(request)

    def has_add_permission(self, request: Any) -> bool:
        return _is_staff_role(request)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return _is_staff_role(request)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return _is_staff_role(request)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Decisions and takedowns are records: they change only through the services."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("stem", "round", "decision", "curator", "created_at")
    list_filter = ("decision",)


@admin.register(Takedown)
class TakedownAdmin(ReadOnlyAdmin):
    list_display = ("stem", "staff", "created_at")


@admin.register(ReviewClaim)
class ReviewClaimAdmin(ReadOnlyAdmin):
    list_display = ("stem", "curator", "claimed_at", "expires_at")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "created_at", "read_at")
