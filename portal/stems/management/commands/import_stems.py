"""Contribute every file in a folder through the same pipeline as the web form and the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.models import User
from portal.core.errors import ApplicationError
from portal.stems.details import ATTESTATIONS
from portal.stems.models import StemKind, StemRole
from portal.stems.services.submission import stem_submit
from renderer.validate import DURATION_LIMITS

# A role guessed from common sample-pack names when --role is not given.
ROLE_HINTS = [
    (r"kick|snare|hat|drum|bd_|sn_|cymbal|ride|beat|break|amen", StemRole.DRUMS),
    (r"perc|tabla|conga|shaker|clap|bell|cowbell|wood", StemRole.PERCUSSION),
    (r"bass|sub", StemRole.BASS),
    (r"chord|pad|piano|guit|harm|organ", StemRole.HARMONY),
    (r"lead|melod|synth|arp", StemRole.MELODY),
    (r"vox|vocal|choir|voice", StemRole.VOCALS),
    (r"ambi|drone|texture|hum|field|noise|hiss", StemRole.TEXTURE),
]


def guess_role(name: str) -> str:
    lowered = name.lower()
    for pattern, role in ROLE_HINTS:
        if re.search(pattern, lowered):
            return str(role)
    return str(StemRole.FX)


def guess_kind(path: Path) -> str:
    """one-shot up to its 10 s limit, stem beyond: decided from the audio, never the name."""
    import soundfile as sf

    try:
        duration = sf.info(str(path)).duration
    except Exception:  # not audio: let the pipeline say why
        return str(StemKind.STEM)
    return str(StemKind.ONE_SHOT if duration <= DURATION_LIMITS["one-shot"][1] else StemKind.STEM)


class Command(BaseCommand):
    help = "Contribute every audio file in DIR for an artist, reporting each file's outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory")
        parser.add_argument("--artist", required=True, help="the contributing artist's username")
        parser.add_argument("--license", required=True, type=int, help="license version")
        parser.add_argument("--role", choices=StemRole.values, help="default: guessed from names")
        parser.add_argument(
            "--kind", choices=StemKind.values, help="default: one-shot up to 10 s, else stem"
        )
        parser.add_argument("--bpm", help="tempo for loops (required with --kind loop)")
        parser.add_argument("--bars", type=int, help="bars for loops (required with --kind loop)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["directory"])
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a directory.")
        artist = User.objects.filter(username=options["artist"]).first()
        if artist is None:
            raise CommandError(f"There is no user {options['artist']!r}.")
        paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        if not paths:
            raise CommandError(f"{folder} holds no files.")
        # Recorded as made by this command on the artist's behalf (the receipt says so).
        attestations = {key: True for key in ATTESTATIONS}
        attestations["accepts_terms_version"] = options["license"]
        accepted = refused = 0
        for path in paths:
            metadata = {
                "title": path.stem.replace("_", " ").strip() or path.name,
                "kind": options["kind"] or guess_kind(path),
                "role": options["role"] or guess_role(path.stem),
                "bpm": options["bpm"],
                "bars": options["bars"],
                "description": "Imported with manage.py import_stems on the artist's behalf.",
            }
            try:
                with path.open("rb") as handle:
                    (stem,) = stem_submit(
                        artist=artist,
                        files=[File(handle, name=path.name)],
                        metadata=[metadata],
                        credits=None,
                        license_version=options["license"],
                        attestations=attestations,
                        ip_address=None,
                    )
            except ApplicationError as exc:
                refused += 1
                self.stdout.write(f"refused  {path.name}: {exc.message}")
            else:
                accepted += 1
                self.stdout.write(
                    f"accepted {path.name}: stem {stem.pk} ({stem.kind}, {stem.role})"
                )
        self.stdout.write(f"{accepted} accepted, {refused} refused.")
        if accepted == 0:
            raise CommandError("No file was accepted.")
