from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ARTIST = "artist", "Artist"
    CURATOR = "curator", "Curator"
    STAFF = "staff", "Staff"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ARTIST)

    @property
    def is_artist(self) -> bool:
        return self.role == Role.ARTIST

    @property
    def is_curator(self) -> bool:
        return self.role == Role.CURATOR

    @property
    def is_platform_staff(self) -> bool:
        return self.role == Role.STAFF

    @property
    def display_name(self) -> str:
        profile = getattr(self, "artist_profile", None)
        return profile.display_name if profile else self.username


class ArtistProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="artist_profile")
    display_name = models.CharField(max_length=120)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    contact_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name


class TokenScope(models.TextChoices):
    # There was a "player" scope: any account could mint one and report plays with it. Plays
    # now come only from approved client apps (portal.clients); migration 0002 revoked those.
    FULL = "full", "Full access as this account"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the plain token is shown once, at creation.

    Tokens carry 256 bits of randomness, so an unsalted fast hash is enough: nobody can
    brute-force the preimage, and a hash lookup keeps authentication one indexed query.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.FULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
