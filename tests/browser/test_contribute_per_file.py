"""Several files in one contribution, each with its own title, role, tempo and key, in Chromium."""

from __future__ import annotations

import pytest

from portal.stems.models import Stem
from tests.factories.audio import encode, tone_loop
from tests.helpers.browser import UNLABELLED, input_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_each_file_of_a_batch_gets_its_own_details(page, shot, live_server, client, artist):
    from portal.stems.services.licenses import license_template_publish

    license_template_publish(version=1, title="License", terms="Terms.")
    client.force_login(artist)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/contribute/")
    rows = page.locator("[data-per-file-details]")
    assert rows.is_hidden()

    files = page.get_by_label("Audio files")
    files.set_input_files(files=[input_file("kick_a.wav", encode(tone_loop(seed=71)))])
    assert rows.is_hidden()  # one file: the shared details are its details
    files.set_input_files(
        files=[
            input_file("kick_a.wav", encode(tone_loop(seed=72))),
            input_file("bass_b.wav", encode(tone_loop(seed=73))),
        ]
    )
    assert rows.is_visible()
    assert page.locator("[data-per-file-details] tbody tr").count() == 2
    assert page.evaluate(UNLABELLED) == []

    page.get_by_label("Title of kick_a.wav").fill("Low kick")
    page.get_by_label("BPM of kick_a.wav").fill("60")
    page.get_by_label("Bars of kick_a.wav").fill("1")
    page.get_by_label("Role of bass_b.wav").select_option("bass")
    page.get_by_label("Key of bass_b.wav").fill("Am")
    page.get_by_label("Kind").select_option("loop")
    page.get_by_label("Role", exact=True).select_option("drums")
    page.get_by_label("BPM", exact=True).fill("120")
    page.get_by_label("Bars", exact=True).fill("2")
    page.get_by_label("Moods").fill("calm")
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    shot(page, "per-file-details")
    page.get_by_role("button", name="Contribute").click()
    page.wait_for_url("**/stems/", timeout=60_000)

    stems = {s.original_filename: s for s in Stem.objects.all()}
    kick, bass = stems["kick_a.wav"], stems["bass_b.wav"]
    assert (kick.title, kick.role, kick.bpm, kick.bars) == ("Low kick", "drums", 60, 1)
    assert (bass.title, bass.role, bass.bpm, bass.bars) == ("bass b", "bass", 120, 2)
    assert (kick.musical_key, bass.musical_key) == ("", "Am")
    assert kick.moods == bass.moods == ["calm"]
    shot(page, "per-file-contributed")
