"""The public "How plays count" page: every rule with the threshold the close uses right now."""

from __future__ import annotations

from typing import Any

import pytest

from portal.royalties.computation import RULE_SETTINGS
from portal.royalties.explain import LABELS

pytestmark = pytest.mark.django_db
PAGE = "/how-plays-count/"


def test_anyone_can_read_which_plays_earn_and_every_rule(client_for: Any) -> None:
    response = client_for(None).get(PAGE)
    assert response.status_code == 200
    text = response.content.decode()
    for label in LABELS.values():
        assert label in text
    for _, setting, default, _ in RULE_SETTINGS:
        assert f"<code>{setting}</code> = {default}" in text
    for refusal in (
        "Previews.",
        "Other apps",
        "Late reports.",
        "Before the mix existed.",
        "Self-play.",
    ):
        assert refusal in text
    assert "35 days" in text  # the late window
    assert "up to 250 plays a day" in text  # 5 x the floor of 50, as the rule computes it


def test_changing_a_setting_changes_the_page(client_for: Any, settings: Any) -> None:
    settings.ROYALTIES_SPIKE_FACTOR = 7
    settings.ROYALTIES_SPIKE_FLOOR = 30
    settings.ROYALTIES_HUGGING_MARGIN_S = 8
    settings.ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY = 12
    settings.ROYALTIES_LATE_WINDOW_DAYS = 40
    text = client_for(None).get(PAGE).content.decode()
    assert "more than 7 times its usual" in text
    assert "up to 210 plays a day" in text
    assert "between 30 s and 38 s" in text
    assert "At most 12 plays of one mix" in text
    assert "40 days" in text and "35 days" not in text


def test_every_page_links_to_it(client_for: Any, artist: Any) -> None:
    assert f'href="{PAGE}"' in client_for(artist).get("/royalties/").content.decode()


def test_a_rule_threshold_is_read_from_the_environment_and_a_bad_one_refuses_to_start() -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    probe = (
        "import django; django.setup(); "
        "from portal.royalties.computation import rule_setting; "
        "print(rule_setting('ROYALTIES_SPIKE_FACTOR'))"
    )

    def run(value: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
        env["ROYALTIES_SPIKE_FACTOR"] = value
        return subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
        )

    assert run("7").stdout.strip() == "7"
    refused = run("7x")
    assert refused.returncode != 0
    assert "ROYALTIES_SPIKE_FACTOR" in refused.stderr


def test_it_says_how_the_rules_apply_to_stream_listening(client_for: Any, settings: Any) -> None:
    settings.STREAM_DAILY_CAP_SECONDS = 2 * 3600
    text = client_for(None).get(PAGE).content.decode()
    assert "Stream listening (the live player)" in text
    assert "at most <strong>2 hours</strong> of stream listening per UTC day" in text
    assert "<strong>Lockstep listening</strong> never fires for streams" in text
    assert "each stretch of a stream is its own mix with exactly one play" in text
    assert "<strong>Stopping just after 30 seconds</strong> cannot apply to streams" in text
    assert "<strong>Over the daily limit</strong> never fires for streams" in text
