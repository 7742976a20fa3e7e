from django.db import migrations, models


def fill_from_mixes(apps, schema_editor):
    # A mix's stems are on its MixStem rows (written from the manifest when it rendered); a
    # stream chunk's are on its segments. Rows of neither keep an empty list.
    RenderedAudio = apps.get_model("stems", "RenderedAudio")
    MixStem = apps.get_model("mixes", "MixStem")
    for row in RenderedAudio.objects.filter(key__startswith="mix:"):
        ids = sorted(
            MixStem.objects.filter(mix_id=row.key.split(":", 1)[1]).values_list(
                "stem_id", flat=True
            )
        )
        if ids:
            RenderedAudio.objects.filter(pk=row.pk).update(stem_ids=ids)


class Migration(migrations.Migration):
    dependencies = [
        ("stems", "0003_rendered_audio_name"),
        ("mixes", "0005_stream_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="renderedaudio",
            name="stem_ids",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(fill_from_mixes, migrations.RunPython.noop),
    ]
