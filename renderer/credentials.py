"""C2PA Content Credentials on a delivered render, with c2pa-python (the c2pa-rs SDK).

What the C2PA manifest says, built from the render's signed Stemvault manifest so that the two
can never disagree:

* ``c2pa.actions.v2``: one ``c2pa.created`` action by the software agent "Stemvault <engine
  version>" with the IPTC digital source type `DIGITAL_SOURCE_TYPE` ("composite": the README says
  why), then one ``c2pa.placed`` action per stem, linked to its ingredient.
* one ``c2pa.ingredient.v3`` per stem heard (relationship componentOf): its title, the MIME
  type of the stored stem, an instance id ``urn:stemvault:stem:<id>``, a description naming the
  role and the credited artists, and in the ingredient's metadata under ``io.stemvault.stem``
  what the standard ingredient fields have no place for: the stem id, the sha256 of the stored
  file's bytes, the licence version and the credits with their royalty splits in basis points.
  (An ingredient's standard ``data`` reference would embed the stem itself in the manifest.)
* for a delivery made from the master (its MP3, a stem file: `Parent`), the master as
  delivered as the parentOf ingredient, added from its bytes so c2pa-rs copies and binds its
  manifest store; the actions then open it (``c2pa.opened``) and say how the file was derived,
  in place of ``c2pa.created``. Instance ids: `render_instance_id`.
* the custom assertion `ATTRIBUTION_LABEL`: the Stemvault manifest exactly as
  `renderer.manifest.read_embedded_manifest` reads it from the file (payload plus its signature
  block with the detached JWS).
* the hard binding ``c2pa.hash.data``, which c2pa-rs computes over every byte of the file except
  the C2PA manifest store itself, so the bext/iXML chunks and the embedded Stemvault manifest are
  covered too. That is why the Content Credentials are the last thing written.

Where c2pa-rs puts the manifest store: WAV, a ``C2PA`` RIFF chunk appended after our manifest
and signature chunks; MP3, an ID3v2 tag in front holding one ``GEOB`` frame (renderer.mp3
writes none of its own); FLAC, an ID3v2 tag holding one ``GEOB`` frame of type application/c2pa
prepended to the ``fLaC`` stream (C2PA 2.x, the ID3 embedding its FLAC support uses).
`renderer.embedding` allows exactly that one addition. No timestamp authority is used unless one
is configured: the renders are signed offline, so the signing time in the claim is the signer's
own clock, and the signature is valid only while the certificate is.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import c2pa

from renderer.credential_chain import signing_algorithm

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/composite"
ATTRIBUTION_LABEL = "io.stemvault.attribution"
STEM_METADATA_KEY = "io.stemvault.stem"
SOFTWARE_AGENT = "Stemvault"
DELIVERY_LABEL = "io.stemvault.delivery"
MASTER_METADATA_KEY = "io.stemvault.master"
MIME_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg"}
# What a delivery made from the master did to it, after opening it (C2PA 2.x action names).
_DERIVATION = {
    "mp3": ("c2pa.transcoded", "Encoded from the master's samples to MP3."),
    "stem": (
        "c2pa.edited",
        "One role group of the render: its stems only, at the master's input gain, before "
        "the master limiter.",
    ),
}


class CredentialsError(RuntimeError):
    """The file could not be given Content Credentials; the message says why."""


@dataclass(frozen=True)
class CredentialsSigner:
    """What signs: a PEM certificate chain (signer first) and its PEM private key."""

    cert_chain_pem: bytes
    private_key_pem: bytes
    tsa_url: str | None = None


@dataclass(frozen=True)
class Parent:
    """The file a delivery was made from (the master, credentialed as delivered), named in the
    delivery's credentials as its parentOf ingredient: c2pa-rs copies the master's C2PA
    manifest store in and binds it by hash, and `ingredient` adds what the standard fields lack
    (`parent_ingredient`)."""

    data: bytes
    fmt: str
    ingredient: Mapping[str, Any]


def stem_instance_id(stem_id: str) -> str:
    return f"urn:stemvault:stem:{stem_id}"


def render_instance_id(render_id: str, fmt: str, group: str | None = None) -> str:
    """The C2PA instance id of a render's delivered file: the master (`fmt` wav or flac), its
    MP3, or the stem file of role `group`."""
    tail = f"stem:{group}" if group else fmt
    return f"urn:stemvault:render:{render_id}:{tail}"


def parent_ingredient(master_sha256: str, fmt: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The parentOf ingredient naming the delivered master whose file bytes have the sha256
    `master_sha256`: its instance id, and under `MASTER_METADATA_KEY` that hash (a v3
    ingredient has no field for the asset's own hash) and the master's decoded-audio hash."""
    render_id = str(manifest["render_id"])
    return {
        "title": f"Stemvault render {render_id}.{fmt}",
        "relationship": "parentOf",
        "instance_id": render_instance_id(render_id, fmt),
        "format": MIME_TYPES[fmt],
        "description": "the master this file was made from",
        "metadata": {
            MASTER_METADATA_KEY: {
                "sha256": master_sha256,
                "sha256_of": "the delivered master file's bytes, Content Credentials included",
                "render_id": render_id,
                "audio_sha256": manifest.get("audio_sha256"),
            }
        },
    }


def _credit_line(credits: list[dict[str, Any]]) -> str:
    names = [f"{c.get('artist')} ({c.get('split_percent')}%)" for c in credits]
    return ", ".join(names) if names else "uncredited"


def _ingredient(stem: Mapping[str, Any], fmt: str | None) -> dict[str, Any]:
    stem_id = str(stem["id"])
    credits = list(stem.get("credits", []))
    role = stem.get("role")
    ingredient: dict[str, Any] = {
        "title": str(stem.get("title") or f"Stem {stem_id}"),
        "relationship": "componentOf",
        "instance_id": stem_instance_id(stem_id),
        "description": f"{role or 'stem'} by {_credit_line(credits)}",
        "metadata": {
            STEM_METADATA_KEY: {
                "id": stem_id,
                "content_sha256": stem.get("content_sha256"),
                "content_hash_of": "the stored stem file's bytes",
                "license_version": stem.get("license_version"),
                "role": role,
                "credits": credits,
            }
        },
    }
    if fmt:
        ingredient["format"] = fmt
    return ingredient


def manifest_definition(
    manifest: Mapping[str, Any],
    *,
    stem_formats: Mapping[str, str] | None = None,
    delivery: Mapping[str, Any] | None = None,
    parent: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The c2pa-rs manifest definition (JSON) for a render with this signed Stemvault manifest.
    `stem_formats[id]` is a stem's MIME type, when known.

    `parent`: the parentOf ingredient of a delivery made from the master
    (`parent_ingredient`; added to the builder with the master's bytes, not listed here). The
    actions then open it (``c2pa.opened``, C2PA's first action for a derived asset, in place of
    ``c2pa.created``, which the master's own manifest states) and say how the file was made
    from it (`_DERIVATION`).

    `delivery` describes a file delivered beside the master (an MP3, one stem of a stems
    package): its `format` (a MIME_TYPES key), a `title`, and, for a stem file, `stem_ids`,
    the stems heard in it, which alone become its ingredients. The whole of `delivery` goes
    into the custom assertion `DELIVERY_LABEL`, beside the master's signed manifest."""
    fmt = str((delivery or {}).get("format") or manifest["audio"]["format"])
    version = str(manifest["engine_version"])
    stems = list(manifest.get("stems", []))
    if delivery is not None and delivery.get("stem_ids") is not None:
        heard = {str(i) for i in delivery["stem_ids"]}
        stems = [stem for stem in stems if str(stem["id"]) in heard]
    agent = {"name": SOFTWARE_AGENT, "version": version}
    actions: list[dict[str, Any]] = [
        {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_SOURCE_TYPE,
            "softwareAgent": agent,
            "description": "An algorithmic arrangement of human-made, licensed stems; "
            "no generative model.",
        }
    ]
    if parent is not None:
        opened = {"ingredientIds": [str(parent["instance_id"])]}
        kind = str((delivery or {}).get("kind") or "mp3")
        action, description = _DERIVATION.get(kind, _DERIVATION["mp3"])
        actions = [
            {"action": "c2pa.opened", "softwareAgent": agent, "parameters": opened},
            {
                "action": action,
                "softwareAgent": agent,
                "description": description,
                "parameters": opened,
            },
        ]
    actions += [
        {
            "action": "c2pa.placed",
            "softwareAgent": agent,
            "parameters": {"ingredientIds": [stem_instance_id(str(stem["id"]))]},
        }
        for stem in stems
    ]
    formats = stem_formats or {}
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": actions}},
        {"label": ATTRIBUTION_LABEL, "data": dict(manifest)},
    ]
    if delivery is not None:
        assertions.append({"label": DELIVERY_LABEL, "data": dict(delivery)})
    title = (delivery or {}).get("title") or f"Stemvault render {manifest['render_id']}.{fmt}"
    group = (delivery or {}).get("role_group")
    return {
        "claim_generator_info": [{"name": SOFTWARE_AGENT, "version": version}],
        "title": str(title),
        "instance_id": render_instance_id(str(manifest["render_id"]), fmt, group),
        "format": MIME_TYPES[fmt],
        "assertions": assertions,
        "ingredients": [_ingredient(stem, formats.get(str(stem["id"]))) for stem in stems],
    }


def sign_credentials(
    data: bytes,
    fmt: str,
    manifest: Mapping[str, Any],
    signer: CredentialsSigner,
    *,
    stem_formats: Mapping[str, str] | None = None,
    delivery: Mapping[str, Any] | None = None,
    parent: Parent | None = None,
) -> bytes:
    """The file with Content Credentials added. Call it last: any later change to the file's
    bytes breaks the credentials' data hash. `delivery`: see `manifest_definition` (its
    format must be `fmt`); `parent`: the master it was made from."""
    if fmt not in MIME_TYPES:
        raise CredentialsError(f"cannot add Content Credentials to {fmt!r} files")
    try:
        algorithm = signing_algorithm(signer.private_key_pem)
        info = c2pa.C2paSignerInfo(
            algorithm.encode("ascii"),
            signer.cert_chain_pem,
            signer.private_key_pem,
            signer.tsa_url.encode("ascii") if signer.tsa_url else None,
        )
        definition = json.dumps(
            manifest_definition(
                manifest,
                stem_formats=stem_formats,
                delivery={**delivery, "format": fmt},
                parent=parent.ingredient if parent is not None else None,
            )
            if delivery is not None
            else manifest_definition(manifest, stem_formats=stem_formats)
        )
        out = io.BytesIO()
        with c2pa.Signer.from_info(info) as c2pa_signer, c2pa.Builder(definition) as builder:
            if parent is not None and delivery is not None:
                # c2pa-rs reads the master's manifest store and validates it as it adds it.
                builder.add_ingredient(
                    dict(parent.ingredient), MIME_TYPES[parent.fmt], io.BytesIO(parent.data)
                )
            builder.sign(c2pa_signer, MIME_TYPES[fmt], io.BytesIO(data), out)
    except (c2pa.C2paError, ValueError) as exc:
        raise CredentialsError(f"signing the Content Credentials failed: {exc}") from exc
    return out.getvalue()
