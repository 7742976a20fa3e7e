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
