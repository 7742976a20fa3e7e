"""What an artist says about a stem (metadata, credits with splits, attestations), checked and
normalised. No writes: the contribution form, the API and the services all share these checks,
and every refusal is an ApplicationError that names the field to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.accounts.models import Role, User
from portal.core.errors import ApplicationError
from portal.core.music import parse_key
from portal.stems.models import StemKind, StemRole

MAX_FILES_PER_SUBMISSION = 20
MAX_TAGS = 10
MAX_TAG_LENGTH = 32
BPM_RANGE = (Decimal("20"), Decimal("300"))
BARS_RANGE = (1, 256)

# The statements the artist ticks, kept verbatim in every receipt: a receipt must say what was
# attested, not only that "attestation 2" was true.
ATTESTATIONS: dict[str, str] = {
    "made_it_and_holds_rights": "I made this sound and I hold all the rights needed to license it.",
    "no_uncleared_samples": "It contains no samples or recordings of others that I have not cleared.",
    "not_ai_generated": "It was not generated, in whole or in part, by AI music tools.",
    "accepts_terms_version": "I accept the terms of license version {version}.",
}
BOOLEAN_ATTESTATIONS = ("made_it_and_holds_rights", "no_uncleared_samples", "not_ai_generated")


def split_percent(bps: int) -> str:
    """A share in basis points as people write it: 4000 -> "40%", 3333 -> "33.33%"."""
    return f"{Decimal(bps) / 100:.2f}".rstrip("0").rstrip(".") + "%"


def field_error(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def _tags(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise field_error(field, f"Give {field} as a list or a comma-separated text.")
    cleaned: list[str] = []
    for item in items:
        tag = str(item).strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise field_error(
                field, f"The {field} tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH}."
            )
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise field_error(field, f"Give at most {MAX_TAGS} {field} tags.")
    return cleaned


def clean_metadata(data: dict[str, Any], *, label: str = "") -> dict[str, Any]:
    """Normalise one stem's metadata or raise ApplicationError naming the field to fix."""
    prefix = f"{label}: " if label else ""
    title = str(data.get("title") or "").strip()
    if not title:
        raise field_error("title", f"{prefix}Give the stem a title.")
    if len(title) > 200:
        raise field_error("title", f"{prefix}The title is longer than 200 characters.")
    kind = str(data.get("kind") or "")
    if kind not in StemKind.values:
        raise field_error("kind", f"{prefix}Choose a kind: {', '.join(StemKind.values)}.")
    role = str(data.get("role") or "")
    if role not in StemRole.values:
        raise field_error("role", f"{prefix}Choose a role: {', '.join(StemRole.values)}.")
    bpm: Decimal | None = None
    raw_bpm = data.get("bpm")
    if raw_bpm not in (None, ""):
        try:
            bpm = Decimal(str(raw_bpm)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise field_error("bpm", f"{prefix}The BPM must be a number, like 120.") from None
        if not bpm.is_finite() or not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
            raise field_error("bpm", f"{prefix}The BPM must be between 20 and 300.")
    bars: int | None = None
    raw_bars = data.get("bars")
    if raw_bars not in (None, ""):
        try:
            bars = int(str(raw_bars))
        except ValueError:
            raise field_error("bars", f"{prefix}Bars must be a whole number, like 4.") from None
        if not BARS_RANGE[0] <= bars <= BARS_RANGE[1]:
            raise field_error("bars", f"{prefix}Bars must be between 1 and 256.")
    if kind == StemKind.LOOP and (bpm is None or bars is None):
        raise field_error(
            "bpm" if bpm is None else "bars",
            f"{prefix}A loop needs its tempo (BPM) and its length in bars.",
        )
    key = str(data.get("musical_key", data.get("key")) or "").strip()
    if key and parse_key(key) is None:
        raise field_error(
            "musical_key",
            f"{prefix}Write the key like C, F#, Bb, Am, F#m or A minor (got {key!r}).",
        )
    description = str(data.get("description") or "").strip()
    if len(description) > 5000:
        raise field_error("description", f"{prefix}The description is longer than 5000 characters.")
    return {
        "title": title,
        "kind": kind,
        "role": role,
        "bpm": bpm,
        "bars": bars,
        "musical_key": key,
        "moods": _tags(data.get("moods"), "moods"),
        "genres": _tags(data.get("genres"), "genres"),
        "description": description,
    }


def _credit_user(who: Any) -> User:
    username = who.username if isinstance(who, User) else str(who or "").strip().lstrip("@")
    user = User.objects.filter(username=username, role=Role.ARTIST, is_active=True).first()
    if user is None:
        raise field_error("credits", f"{username!r} is not a registered artist on Stemvault.")
    return user


def clean_credits(
    credits: Sequence[dict[str, Any]] | None, *, artist: User
) -> list[tuple[User, int]]:
    """Credits as (artist, basis points); splits in percent with at most 2 decimals summing to
    exactly 100. No credits at all means the contributing artist gets 100%."""
    if not credits:
        return [(artist, 10000)]
    result: list[tuple[User, int]] = []
    seen: set[int] = set()
    for entry in credits:
        if not isinstance(entry, dict):
            raise field_error("credits", "Each credit needs an artist and a split_percent.")
        user = _credit_user(entry.get("artist"))
        try:
            percent = Decimal(str(entry.get("split_percent")))
        except InvalidOperation:
            raise field_error(
                "credits", f"The split for {user.username} must be a percentage, like 50."
            ) from None
        if not percent.is_finite() or percent <= 0 or percent > 100:
            raise field_error(
                "credits", f"The split for {user.username} must be above 0% and at most 100%."
            )
        if percent != percent.quantize(Decimal("0.01")):
            raise field_error(
                "credits", f"The split for {user.username} has more than 2 decimals ({percent}%)."
            )
        if user.pk in seen:
            raise field_error("credits", f"{user.username} is credited twice; give one split each.")
        seen.add(user.pk)
        # Exact: a 2-decimal percentage is a whole number of basis points.
        result.append((user, int(percent * 100)))
    total = sum(bps for _, bps in result)
    if total != 10000:
        raise field_error(
            "credits",
            f"The splits add up to {Decimal(total) / 100:.2f}%; they must add up to exactly 100%.",
            code="credits_total",
        )
    return result


def clean_attestations(attestations: dict[str, Any], *, license_version: int) -> dict[str, Any]:
    missing = [key for key in BOOLEAN_ATTESTATIONS if attestations.get(key) is not True]
    if missing:
        statements = " / ".join(ATTESTATIONS[key] for key in missing)
        raise ApplicationError(
            "attestation_missing",
            f"Confirm every statement before contributing. Not confirmed: {statements}",
            fields={key: ["Confirm this statement."] for key in missing},
        )
    accepted = attestations.get("accepts_terms_version")
    try:
        accepted_version = int(str(accepted)) if accepted not in (None, "", False) else None
    except (TypeError, ValueError):
        accepted_version = None
    if accepted_version != license_version:
        raise ApplicationError(
            "attestation_missing",
            f"Accept the terms of license version {license_version} to contribute under it.",
            fields={"accepts_terms_version": ["Accept the license terms."]},
        )
    return {
        **{key: True for key in BOOLEAN_ATTESTATIONS},
        "accepts_terms_version": license_version,
    }


def metadata_per_file(
    *,
    files: Sequence[Any],
    common: dict[str, Any],
    per_file: Sequence[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One metadata dict per file from one shared set of fields (the web form, the API's
    single-object form): each stem's title defaults to its file name, and a shared title with
    several files becomes "<title> – <file name>" so the stems stay tellable apart.

    `per_file`, when given, holds one dict per file of the fields that file sets itself (the
    web form's details per file); they win over the shared ones, and a title given there is the
    stem's title as written."""
    if per_file is not None and len(per_file) != len(files):
        raise field_error(
            "files",
            f"The details per file name {len(per_file)} files but {len(files)} were sent; "
            "choose the files again.",
        )
    result = []
    for index, upload in enumerate(files):
        name = str(getattr(upload, "name", "") or "").strip()
        base = name.rsplit(".", 1)[0] if "." in name else name
        base = base.replace("_", " ").strip() or "Untitled"
        title = str(common.get("title") or "").strip()
        if not title:
            title = base
        elif len(files) > 1:
            title = f"{title} – {base}"
        own = per_file[index] if per_file is not None else {}
        result.append({**common, "title": title[:200], **own})
    return result
