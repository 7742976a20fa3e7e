from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.review.services.claims import review_claim
from portal.stems.models import Stem, StemStatus, Verdict

pytestmark = pytest.mark.django_db


def _age(stem: Stem, days: int) -> None:
    Stem.objects.filter(pk=stem.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def queue(artist, make_stem):
    old_clean = make_stem(artist, title="old clean", role="bass", moods=["calm", "dark"])
    new_clean = make_stem(artist, title="new clean", role="drums", moods=["uplifting"])
    new_flag = make_stem(
        artist,
        title="new flagged",
        provenance_verdict=Verdict.FLAG,
        kind="one-shot",
        bpm=None,
        moods=["calm"],
    )
    old_flag = make_stem(artist, title="old flagged", provenance_verdict=Verdict.FLAG, role="bass")
    make_stem(artist, title="approved already", status=StemStatus.APPROVED)
    _age(old_clean, 10)
    _age(new_clean, 1)
    _age(new_flag, 2)
    _age(old_flag, 5)
    return {"old_clean": old_clean, "new_clean": new_clean, "new_flag": new_flag}


def _titles(api, query: str = "") -> list[str]:
    response = api.get(f"/api/v1/review/queue/{query}")
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


def test_flagged_stems_come_first_then_the_oldest(queue, curator, api_for):
    assert _titles(api_for(curator)) == ["old flagged", "new flagged", "old clean", "new clean"]


def test_the_queue_filters_by_role_kind_mood_and_flag(queue, curator, api_for):
    api = api_for(curator)
    assert _titles(api, "?role=bass") == ["old flagged", "old clean"]
    assert _titles(api, "?kind=one-shot") == ["new flagged"]
    assert _titles(api, "?mood=calm") == ["new flagged", "old clean"]
    assert _titles(api, "?mood=cal") == []  # a whole tag, not a substring
    assert _titles(api, "?flag=flag") == ["old flagged", "new flagged"]
    assert _titles(api, "?flag=pass") == ["old clean", "new clean"]
    assert _titles(api, "?role=bass&flag=pass") == ["old clean"]


def test_the_api_shows_the_active_claim(queue, curator, api_for):
    review_claim(stem=queue["old_clean"], curator=curator)
    items = {i["title"]: i for i in api_for(curator).get("/api/v1/review/queue/").json()["results"]}
    assert items["old clean"]["claim"]["curator"] == curator.display_name
    assert items["new clean"]["claim"] is None


def test_the_queue_page_lists_and_filters_the_same_way(queue, curator, client_for):
    page = client_for(curator).get("/review/?role=bass").content.decode()
    assert "old flagged" in page and "old clean" in page
    assert "new clean" not in page and "approved already" not in page
    assert page.index("old flagged") < page.index("old clean")
