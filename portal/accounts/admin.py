from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.accounts.forms import AdminLoginForm
from portal.accounts.models import ApiToken, ArtistProfile, User

# The admin's sign-in page takes passwords too: it gets the same attempt limits.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class StemvaultUserAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "email", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Stemvault", {"fields": ("role",)}))


admin.site.register(ArtistProfile)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "user", "prefix", "scope", "created_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")
