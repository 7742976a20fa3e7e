"""The shared cache's table (used when no Redis is configured), so that `migrate` is enough."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

from portal.core.cache import CACHE_TABLE


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    # Django's own DDL for the table; it does nothing if the table already exists.
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
