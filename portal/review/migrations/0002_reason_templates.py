"""Seed the reasons curators start with; staff edit or add more in the admin."""

from django.db import migrations

DEFAULT_REASONS = [
    (
        "uncleared-samples",
        "Contains uncleared samples",
        "We hear material in this stem that is not yours to license (a sample, a loop from a "
        "library, or a recording of someone else's work). Only sounds you made, or fully "
        "cleared, can enter the vault.",
    ),
    (
        "not-human-made",
        "Not human-made",
        "This stem sounds generated rather than performed or produced by you. The vault only "
        "takes human-made sound.",
    ),
    (
        "quality",
        "Quality below the vault's bar",
        "The audio quality is below what the vault needs (for example clipping, a lossy "
        "source, noise or an uneven level).",
    ),
    (
        "duplicate",
        "Duplicate of existing material",
        "This stem duplicates, or is too close to, material already in the vault.",
    ),
    (
        "metadata",
        "Metadata is inaccurate",
        "The title, role, tempo, key or tags do not describe the sound accurately.",
    ),
]


def seed(apps, schema_editor):
    ReasonTemplate = apps.get_model("review", "ReasonTemplate")
    for position, (code, title, text) in enumerate(DEFAULT_REASONS):
        ReasonTemplate.objects.get_or_create(
            code=code, defaults={"title": title, "text": text, "position": position}
        )


def unseed(apps, schema_editor):
    ReasonTemplate = apps.get_model("review", "ReasonTemplate")
    ReasonTemplate.objects.filter(code__in=[code for code, _, _ in DEFAULT_REASONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
