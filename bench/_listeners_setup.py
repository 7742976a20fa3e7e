"""Prepares the stack of bench/stream_listeners.py in its own process.

`python -m bench._listeners_setup` migrates the database of the environment (a fresh SQLite
under VAR_DIR, or the PostgreSQL of DATABASE_URL, emptied first), seeds the demo vault and its client app
through the product's services (as bench/_stream_probe.py does), and prints one JSON object
with a fresh credential of that app.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench._stream_probe import _seed

    call_command("migrate", verbosity=0)
    if connection.vendor != "sqlite":
        # The bench's own PostgreSQL (BENCH_LISTENERS_DATABASE_URL): each run starts empty, as
        # the SQLite of a fresh VAR_DIR does.
        call_command("flush", interactive=False, verbosity=0)
    _app, credential = _seed(0)
    print(json.dumps({"credential": credential}))


if __name__ == "__main__":
    main()
