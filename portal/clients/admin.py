from __future__ import annotations

from django.contrib import admin

from portal.clients.models import AppCredential, ClientApp


@admin.register(ClientApp)
class ClientAppAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "owner", "status", "created_at", "reviewed_at")
    list_filter = ("status",)
    # Decisions go through the staff page (audited); the admin only looks.
    readonly_fields = ("status", "status_reason", "reviewed_by", "reviewed_at")


@admin.register(AppCredential)
class AppCredentialAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("app", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")
