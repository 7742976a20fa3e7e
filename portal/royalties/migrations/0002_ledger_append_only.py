from __future__ import annotations

from django.db import migrations

# Row triggers: UPDATE and DELETE on ledger rows are refused by the database itself, so a
# balance can only change by posting a new transaction. TRUNCATE stays possible for the table
# owner (the test runner empties tables with it); production grants the app role no TRUNCATE.
FORBID = """
CREATE OR REPLACE FUNCTION royalties_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only: %% is not allowed', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER royalties_ledgerentry_no_update_delete
    BEFORE UPDATE OR DELETE ON royalties_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION royalties_ledger_append_only();
CREATE TRIGGER royalties_ledgertransaction_no_update_delete
    BEFORE UPDATE OR DELETE ON royalties_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION royalties_ledger_append_only();
"""
ALLOW = """
DROP TRIGGER IF EXISTS royalties_ledgerentry_no_update_delete ON royalties_ledgerentry;
DROP TRIGGER IF EXISTS royalties_ledgertransaction_no_update_delete ON royalties_ledgertransaction;
DROP FUNCTION IF EXISTS royalties_ledger_append_only();
"""


def forbid(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID)


def allow(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW)


class Migration(migrations.Migration):
    dependencies = [("royalties", "0001_initial")]
    operations = [migrations.RunPython(forbid, allow)]
