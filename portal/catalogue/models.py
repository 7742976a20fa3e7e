"""The catalogue's own rows: each stem's audition file, and favourites of people and apps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class StemPreview(models.Model):
    """The short, low-bitrate excerpt a client auditions (renderer.preview), rendered once per
    stem by a job. Never the master: the original file is served to its artist and curators
    only, and this row exists only once the excerpt is stored."""

    stem = models.OneToOneField(
        "stems.Stem", on_delete=models.CASCADE, related_name="catalogue_preview"
    )
    audio = models.CharField(max_length=300, help_text="Name in default storage")
    content_type = models.CharField(max_length=40)
    bitrate_bps = models.PositiveIntegerField()
    duration_s = models.FloatField()
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class Favourite(models.Model):
    """A stem someone keeps for later: a signed-in person's, or a client app's (its credentials
    share one list, and an app never sees its owner's personal list, nor the owner the app's)."""

    stem = models.ForeignKey("stems.Stem", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="catalogue_favourites",
    )
    client_app = models.ForeignKey(
        "clients.ClientApp",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="catalogue_favourites",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, client_app__isnull=True)
                    | Q(user__isnull=True, client_app__isnull=False)
                ),
                name="favourite_of_a_user_or_an_app",
            ),
            models.UniqueConstraint(
                fields=["user", "stem"],
                condition=Q(client_app__isnull=True),
                name="favourite_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["client_app", "stem"],
                condition=Q(user__isnull=True),
                name="favourite_once_per_app",
            ),
        ]
