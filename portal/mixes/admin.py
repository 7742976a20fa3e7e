from __future__ import annotations

from django.contrib import admin

from portal.mixes.models import Mix, MixStem


class MixStemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = MixStem
    extra = 0
    raw_id_fields = ("stem",)


@admin.register(Mix)
class MixAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "kind", "status", "requested_by", "preview_of", "created_at")
    list_filter = ("kind", "status")
    raw_id_fields = ("requested_by", "preview_of", "job")
    # Renders are records royalties are paid from: looked at here, never edited.
    readonly_fields = [field.name for field in Mix._meta.fields]
    inlines = [MixStemInline]
