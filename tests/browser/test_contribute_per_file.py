"""Contributing in Chromium: a queue of files, each heard, drawn and measured before it is sent,
with its own details; every error shown at once beside its file and field, the files kept."""

from __future__ import annotations

import pytest

from portal.stems.models import Stem
from tests.factories.audio import encode, tone_loop
from tests.helpers.browser import UNLABELLED, input_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DROP = """
([name, base64]) => {
    const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, {type: 'audio/wav'}));
    const zone = document.querySelector('[data-drop-zone]');
    zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true}));
    zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
}
"""


def _sign_in(page, client, live_server, artist) -> None:
    from portal.stems.services.licenses import license_template_publish

    license_template_publish(version=1, title="License", terms="Terms.")
    client.force_login(artist)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _row(page, name: str):
    return page.locator("[data-file-row]").filter(has_text=name)


def test_queued_files_are_heard_drawn_measured_and_sent_with_their_own_details(
    page, shot, live_server, client, artist
):
    import base64

    _sign_in(page, client, live_server, artist)
    page.goto("/contribute/")
    rows = page.locator("[data-per-file-details]")
    assert rows.is_hidden()

    files = page.get_by_label("Audio files")
    files.set_input_files(files=[input_file("kick_a.wav", encode(tone_loop(8.0, seed=72)))])
    assert rows.is_visible()
    # A second file dropped on the zone joins the queue; the first one stays.
    # (tone_loop plays eighth notes: at 100 BPM their 200 BPM pulse is what a meter reads.)
    bass = encode(tone_loop(8.0, seed=73, bpm=110.0))
    page.evaluate(DROP, ["bass_b.wav", base64.b64encode(bass).decode()])
    assert page.locator("[data-file-row]").count() == 2

    for name, bpm in (("kick_a.wav", "120.0"), ("bass_b.wav", "110.0")):
        row = _row(page, name)
        page.wait_for_function(
            "name => [...document.querySelectorAll('[data-file-row]')].some(r => "
            "r.textContent.includes(name) && r.getAttribute('data-measured'))",
            arg=name,
            timeout=30_000,
        )
        assert "Measured: 8.00 s" in row.locator("[data-file-measured]").inner_text()
        # The measured tempo and bars are filled in for the artist to confirm.
        assert abs(float(page.get_by_label(f"BPM of {name}").input_value()) - float(bpm)) <= 1.0
        assert "sounds like a loop" in row.locator("[data-file-measured]").inner_text()
        assert page.get_by_label(f"Kind of {name}").input_value() == ""  # the artist's to choose
        # The waveform is drawn and the file plays from the page, before any upload.
        assert int(row.locator("[data-file-waveform]").get_attribute("data-drawn")) > 50
        duration = row.locator("audio").evaluate(
            "a => new Promise(done => a.readyState >= 1 ? done(a.duration) : "
            "a.addEventListener('loadedmetadata', () => done(a.duration)))"
        )
        assert abs(duration - 8.0) < 0.05
    assert page.evaluate(UNLABELLED) == []

    # A third file, removed again: it is not sent.
    files.set_input_files(files=[input_file("oops.wav", encode(tone_loop(seed=74)))])
    assert page.locator("[data-file-row]").count() == 3
    page.get_by_role("button", name="Remove oops.wav").click()
    assert page.locator("[data-file-row]").count() == 2

    page.get_by_label("Title of kick_a.wav").fill("Low kick")
    page.get_by_label("Bars of kick_a.wav").fill("0")  # wrong: fixed below
    page.get_by_label("Role of bass_b.wav").select_option("bass")
    page.get_by_label("Key of bass_b.wav").fill("Am")
    page.get_by_label("Kind", exact=True).select_option("loop")
    page.get_by_label("Role", exact=True).select_option("drums")
    page.get_by_label("Moods").fill("calm")
    # Two statements left unconfirmed: wrong as well, in the same answer.
    page.get_by_label("I accept the terms of the license version I chose above.").check()
    page.locator("input[name=made_it_and_holds_rights]").check()
    page.get_by_role("button", name="Contribute").click()

    notice = page.locator("#contribute-error")
    notice.wait_for(state="visible", timeout=30_000)
    assert "problems to fix" in notice.inner_text()
    bars_error = _row(page, "kick_a.wav").locator("[data-file-error=bars]")
    assert bars_error.is_visible() and "greater than or equal to 1" in bars_error.inner_text()
    for statement in ("no_uncleared_samples", "not_ai_generated"):
        holder = page.locator(f"input[name={statement}]").locator("xpath=..")
        assert "Confirm this statement." in holder.inner_text()
    # Nothing was lost: the queue, the details typed and the players are all still there.
    assert page.locator("[data-file-row]").count() == 2
    assert page.get_by_label("Title of kick_a.wav").input_value() == "Low kick"
    assert Stem.objects.count() == 0
    shot(page, "contribute-every-error-at-once")

    page.get_by_label("Bars of kick_a.wav").fill("4")
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Contribute").click()
    page.wait_for_url("**/stems/", timeout=60_000)

    stems = {s.original_filename: s for s in Stem.objects.all()}
    assert set(stems) == {"kick_a.wav", "bass_b.wav"}
    kick, bass = stems["kick_a.wav"], stems["bass_b.wav"]
    assert (kick.title, kick.role, kick.bars) == ("Low kick", "drums", 4)
    assert abs(float(kick.bpm) - 120.0) <= 1.0
    assert (bass.title, bass.role, bass.musical_key) == ("bass b", "bass", "Am")
    assert abs(float(bass.bpm) - 110.0) <= 1.0
    assert kick.moods == bass.moods == ["calm"]
    shot(page, "per-file-contributed")


def test_a_file_that_would_be_refused_says_so_as_soon_as_it_is_chosen(
    page, live_server, client, artist
):
    _sign_in(page, client, live_server, artist)
    page.goto("/contribute/")
    page.get_by_label("Audio files").set_input_files(
        files=[input_file("notes.wav", b"this is not audio at all")]
    )
    error = _row(page, "notes.wav").locator("[data-file-error=files]")
    error.wait_for(state="visible", timeout=30_000)
    assert "notes.wav" in error.inner_text() and "not audio" in error.inner_text()
