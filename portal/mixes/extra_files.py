"""The files a soundtrack request may ask for beside its master: an MP3 of it and the stems.

Made by the render job right after the master is credentialed, from the same render: the MP3
from the mastered samples (renderer.mp3), the stems from the role-group buses the engine mixed
alongside (renderer.buses, asked for only when the request wants stems, since they cost a mix
per group). Each file carries its own Content Credentials, signed with the master's signed
manifest as their attribution assertion, the delivered master as their parent ingredient, and
a delivery statement signed with the render key (renderer.delivery); the stems zip's manifest is signed with the render
manifest's key. The job stores them with the master, in the same step (mixes.rendering).
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from django.core.files.base import ContentFile, File

from portal.mixes.file_names import requested_extras
from portal.mixes.keys import credentials_signer, signing_key_pem
from portal.mixes.models import Mix
from portal.stems.models import Stem
from renderer.buses import stem_groups
from renderer.delivery import MasterFile, sign_delivery
from renderer.engine import RenderResult
from renderer.mp3 import MP3_BIT_RATE, encode_mp3, mp3_sample_rate
from renderer.stem_package import stem_files, write_stems_zip


def stem_groups_for(mix: Mix, plan: dict[str, Any]) -> dict[str, str] | None:
    """stem id -> role group for the engine's buses, when the request asks for stems."""
    if "stems" not in requested_extras(mix.request):
        return None
    ids = [str(s["id"]) for s in plan.get("stems", [])]
    rows = Stem.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()])
    roles = {str(pk): role for pk, role in rows.values_list("pk", "role")}
    return stem_groups({stem_id: roles.get(stem_id) for stem_id in ids})


def extra_files_make(
    *,
    mix: Mix,
    result: RenderResult,
    manifest: dict[str, Any],
    groups: dict[str, str] | None,
    stem_formats: dict[str, str],
    master: bytes,
) -> dict[str, File[Any]]:
    """kind -> the file to store, for every extra the request asks for. `master`: the master
    file as it will be delivered (credentialed), which each extra names as its parent.
    CredentialsError when one cannot be credentialed."""
    signer = credentials_signer()
    parent = MasterFile(master, result.format, signing_key_pem())
    made: dict[str, File[Any]] = {}
    for kind in requested_extras(mix.request):
        if kind == "mp3":
            delivery = {
                "kind": "mp3",
                "render_id": manifest["render_id"],
                "encoding": "MPEG-1 Layer III, CBR, LAME",
                "bit_rate": MP3_BIT_RATE,
                "sample_rate": mp3_sample_rate(result.sample_rate),
                "master_audio_sha256": result.audio_sha256,
            }
            data = sign_delivery(
                encode_mp3(result.samples, result.sample_rate),
                "mp3",
                delivery,
                master=parent.data,
                master_fmt=parent.fmt,
                manifest=manifest,
                signer=signer,
                private_key_pem=parent.private_key_pem,
                stem_formats=stem_formats,
            )
            made[kind] = ContentFile(data)
        elif kind == "stems":
            made[kind] = File(_stems_zip(result, manifest, groups or {}, stem_formats, parent))
    return made


def _stems_zip(
    result: RenderResult,
    manifest: dict[str, Any],
    groups: dict[str, str],
    stem_formats: dict[str, str],
    master: MasterFile,
) -> IO[bytes]:
    """The stems zip in a temporary file (a 3-minute render's stems are some 70 MB each)."""
    files = stem_files(
        result.buses,
        result.sample_rate,
        manifest,
        groups,
        signer=credentials_signer(),
        master=master,
        stem_formats=stem_formats,
    )
    frames, channels = result.samples.shape
    # Closed (and so removed) by the render job once it has stored the zip.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    write_stems_zip(
        handle,
        files,
        manifest,
        private_key_pem=signing_key_pem(),
        sample_rate=result.sample_rate,
        frames=frames,
        channels=channels,
        input_gain_db=result.stats["input_gain_db"],
    )
    handle.seek(0)
    return handle
