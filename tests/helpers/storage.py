"""What the tests check in storage: what a contribution stored, that a refused one stored
nothing, and what a render left under its mix's name."""

from __future__ import annotations


def stored_files() -> list[str]:
    """Every stored name under stems/, recursively."""
    from django.core.files.storage import default_storage

    found: list[str] = []

    def walk(prefix: str) -> None:
        try:
            dirs, files = default_storage.listdir(prefix)
        except FileNotFoundError:
            return
        found.extend(f"{prefix}/{name}" for name in files)
        for name in dirs:
            walk(f"{prefix}/{name}")

    walk("stems")
    return sorted(found)


def nothing_left_behind(files_before: list[str]) -> None:
    """A refused contribution left no row and no file behind."""
    from portal.stems.models import ContributionReceipt, Credit, Stem, Submission

    assert Stem.objects.count() == 0
    assert Submission.objects.count() == 0
    assert Credit.objects.count() == 0
    assert ContributionReceipt.objects.count() == 0
    assert stored_files() == files_before


def mix_outputs(mix_pk: object) -> list[str]:
    """Every stored object named after the mix: its final output and any temporary file."""
    from django.core.files.storage import default_storage

    names: list[str] = []
    for folder in ("mixes", "mixes/tmp"):
        try:
            _, files = default_storage.listdir(folder)
        except FileNotFoundError:
            continue
        names += [f"{folder}/{name}" for name in files if name.startswith(str(mix_pk))]
    return names


def on_s3() -> bool:
    """Whether the suite stores on S3 (signed links are then the bucket's presigned URLs)."""
    from django.core.files.storage import default_storage

    return hasattr(default_storage, "bucket")


def fetch_link(client: object, url: str, **headers: str) -> tuple[int, bytes]:
    """(status, body) of a GET of a signed link as a player sends it: no cookie, no
    Authorization header; through HTTP for an S3 presigned URL, else the test client."""
    import urllib.error
    import urllib.request

    if on_s3():
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, b""
    django_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = client.get(url, **django_headers)  # type: ignore[attr-defined]
    body = b"".join(response.streaming_content) if response.status_code < 300 else b""
    return response.status_code, body
