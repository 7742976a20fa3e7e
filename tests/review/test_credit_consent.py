"""Credits that the credited accept: notices, the approval gate, answers by page and API, the
adversaries who try to answer for someone else, corrections after a decline, the migration."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError
from portal.review.models import Decision, Notification, NotificationKind, ReviewClaim
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from portal.stems.models import Credit, CreditConsent, LicenseTemplate, StemStatus
from portal.stems.services.licenses import license_template_publish
from portal.stems.services.lifecycle import stem_withdraw
from portal.stems.services.submission import stem_submit
from tests.factories.accounts import UserFactory
from tests.factories.audio import encode, tone
from tests.factories.review import ReasonTemplateFactory
from tests.factories.stems import STORED

pytestmark = pytest.mark.django_db
PENDING, ACCEPTED, DECLINED = CreditConsent.PENDING, CreditConsent.ACCEPTED, CreditConsent.DECLINED


@pytest.fixture
def carol_artist(db: None) -> Any:
    return UserFactory(username="dora")


@pytest.fixture
def duet(artist, other_artist, make_stem):  # type: ignore[no-untyped-def]
    """Alice's stem in review, crediting Bob with 40% he has not answered yet."""
    return make_stem(
        artist,
        title="Night duet",
        credits=[(artist, 6000), (other_artist, 4000)],
        credit_consent=PENDING,
    )


def _credit(stem: Any, user: Any) -> Credit:
    return Credit.objects.get(stem=stem, artist=user)


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


def _submit(artist: Any, credits: list[dict[str, Any]], seed: int = 1) -> Any:
    if not LicenseTemplate.objects.filter(version=1).exists():
        license_template_publish(version=1, title="Standard", terms="You grant Stemvault...")
    [stem] = stem_submit(
        artist=artist,
        files=[
            SimpleUploadedFile(
                f"take-{seed}.wav",
                encode(
                    tone(300.0 + 41 * seed, 1.5, rate=44100, level=0.4, channels=1),
                    44100,
                    subtype="PCM_16",
                ),
            )
        ],
        metadata=[{"title": f"Shared take {seed}", "kind": "one-shot", "role": "melody"}],
        credits=credits,
        license_version=1,
        attestations={
            "made_it_and_holds_rights": True,
            "no_uncleared_samples": True,
            "not_ai_generated": True,
            "accepts_terms_version": 1,
        },
        ip_address="203.0.113.9",
    )
    STORED.append(stem.audio.name)
    return stem


# --- 1. Crediting someone asks them ---------------------------------------------------------------
def test_crediting_another_artist_sends_them_a_notice_and_an_email_and_waits_for_them(
    artist, other_artist, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        stem = _submit(
            artist,
            [
                {"artist": artist.username, "split_percent": Decimal("60")},
                {"artist": other_artist.username, "split_percent": Decimal("40")},
            ],
        )
    mine, bobs = _credit(stem, artist), _credit(stem, other_artist)
    assert mine.consent == ACCEPTED and mine.consent_decided_at is not None  # implicitly
    assert bobs.consent == PENDING and bobs.consent_requested_at is not None
    assert bobs.consent_decided_at is None

    [notice] = Notification.objects.filter(user=other_artist)
    assert notice.kind == NotificationKind.CREDIT_REQUESTED and notice.stem_id == stem.pk
    assert "40%" in notice.text and "Shared take 1" in notice.text
    assert not Notification.objects.filter(user=artist).exists()  # nobody asks the uploader
    [mail] = [m for m in mailoutbox if m.to == [other_artist.email]]
    assert "credited you" in mail.subject
    assert "40%" in mail.body and "/credits/" in mail.body


def test_crediting_only_yourself_asks_nobody(artist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stem = _submit(artist, [{"artist": artist.username, "split_percent": Decimal("100")}])
    assert _credit(stem, artist).consent == ACCEPTED
    assert not Notification.objects.exists()


def test_an_answer_records_who_and_when_and_is_audited(duet, other_artist, api_for):
    response = api_for(other_artist).post(
        f"/api/v1/credits/{_credit(duet, other_artist).pk}/accept/",
        {"message": "Glad to be on it."},
        format="json",
    )
    assert response.status_code == 200, response.content
    credit = _credit(duet, other_artist)
    assert credit.consent == ACCEPTED and credit.consent_decided_at is not None
    assert credit.consent_message == "Glad to be on it."
    entry = AuditEntry.objects.get(action="credit.accepted", subject=f"stem:{duet.pk}")
    assert entry.actor == other_artist
    assert entry.before["consent"] == PENDING and entry.after["consent"] == ACCEPTED
    assert entry.after["split_bps"] == 4000


# --- 2. The approval gate -----------------------------------------------------------------------
def test_a_stem_cannot_be_approved_until_every_credited_artist_has_accepted(
    duet, artist, other_artist, curator, api_for
):
    review_claim(stem=duet, curator=curator)
    with pytest.raises(ApplicationError) as refused:
        stem_decide(stem=duet, curator=curator, decision="approve")
    assert refused.value.code == "credits_pending"
    assert "@bob" in refused.value.message and "@alice" not in refused.value.message
    assert refused.value.extra == {"pending": ["bob"], "declined": []}
    duet.refresh_from_db()
    assert duet.status == StemStatus.IN_REVIEW and not Decision.objects.filter(stem=duet).exists()

    api_for(other_artist).post(f"/api/v1/credits/{_credit(duet, other_artist).pk}/accept/")
    stem_decide(stem=duet, curator=curator, decision="approve")
    duet.refresh_from_db()
    assert duet.status == StemStatus.APPROVED


def test_the_decision_api_refuses_approval_naming_who_declined(
    artist, other_artist, carol_artist, curator, make_stem, api_for
):
    stem = make_stem(
        artist,
        credits=[(artist, 5000), (other_artist, 3000), (carol_artist, 2000)],
        credit_consent=PENDING,
    )
    Credit.objects.filter(stem=stem, artist=carol_artist).update(consent=DECLINED)
    desk = api_for(curator)
    assert desk.post(f"/api/v1/review/stems/{stem.pk}/claim/").status_code == 200
    response = desk.post(
        f"/api/v1/review/stems/{stem.pk}/decision/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "credits_pending"
    assert "waiting for" in error["message"] and "@bob" in error["message"]
    assert "declined by" in error["message"] and "@dora" in error["message"]
    # Rejecting or asking for changes stays possible: only approval needs every yes.
    response = desk.post(
        f"/api/v1/review/stems/{stem.pk}/decision/",
        {"decision": "request_changes", "note": "Sort the credits out."},
        format="json",
    )
    assert response.status_code == 201


def test_the_queue_and_the_review_page_show_who_is_pending_and_who_declined(
    artist, other_artist, carol_artist, curator, make_stem, client_for, api_for
):
    stem = make_stem(
        artist,
        title="Three hands",
        credits=[(artist, 5000), (other_artist, 3000), (carol_artist, 2000)],
        credit_consent=PENDING,
    )
    Credit.objects.filter(stem=stem, artist=carol_artist).update(
        consent=DECLINED, consent_message="I only played on the B side."
    )
    settled = make_stem(artist, title="Solo hands", credits=[(artist, 7000), (other_artist, 3000)])
    desk = client_for(curator)

    queue = desk.get("/review/").content.decode()
    row = queue[queue.index("Three hands") :].split("</tr>")[0]
    assert "Waiting</span> bob" in row and "Declined</span> dora" in row
    solo = queue[queue.index("Solo hands") :].split("</tr>")[0]
    assert "All accepted" in solo

    page = desk.get(f"/review/stems/{stem.pk}/").content.decode()
    assert 'id="consent-notice"' in page
    assert "I only played on the B side." in page
    notice = page[page.index('id="consent-notice"') :].split("</p>")[0]
    assert "waiting for bob (@bob, 30%)" in notice and "declined by dora (@dora, 20%)" in notice
    assert 'id="consent-notice"' not in desk.get(f"/review/stems/{settled.pk}/").content.decode()

    items = {i["id"]: i for i in api_for(curator).get("/api/v1/review/queue/").json()["results"]}
    assert items[stem.pk]["credits_pending"] == ["bob"]
    assert items[stem.pk]["credits_declined"] == ["dora"]
    assert items[settled.pk]["credits_pending"] == items[settled.pk]["credits_declined"] == []


# --- 3. Answering: the page and the API ----------------------------------------------------------
def test_the_credited_artist_accepts_on_the_credits_page_with_csrf_and_get_changes_nothing(
    duet, other_artist
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(other_artist)
    credit = _credit(duet, other_artist)

    page = browser.get("/credits/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Night duet" in html and "Accept my 40%" in html
    assert f'action="/credits/{credit.pk}/accept/"' in html
    assert browser.get(f"/credits/{credit.pk}/accept/").status_code == 405  # no change on GET
    assert browser.post(f"/credits/{credit.pk}/accept/", {"split_bps": 4000}).status_code == 403
    assert _credit(duet, other_artist).consent == PENDING

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = browser.post(
        f"/credits/{credit.pk}/accept/", {"split_bps": 4000, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == "/credits/"
    assert _credit(duet, other_artist).consent == ACCEPTED
    after = browser.get("/credits/").content.decode()
    assert "No credit is waiting for your answer." in after and "You accepted" in after


def test_the_notice_and_the_dashboard_lead_to_the_credits_page(
    artist, other_artist, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _submit(
            artist,
            [
                {"artist": artist.username, "split_percent": Decimal("50")},
                {"artist": other_artist.username, "split_percent": Decimal("50")},
            ],
        )
    browser = client_for(other_artist)
    assert 'href="/credits/"' in browser.get("/notifications/").content.decode()
    dashboard = browser.get("/dashboard/").content.decode()
    assert "Credits to confirm" in dashboard and 'href="/credits/"' in dashboard
    assert "Credits to confirm" not in client_for(artist).get("/dashboard/").content.decode()


def test_the_api_lists_the_credits_waiting_for_me_and_accepts_one(
    duet, artist, other_artist, api_for
):
    api = api_for(other_artist)
    body = api.get("/api/v1/credits/").json()
    assert body["count"] == 1
    [item] = body["results"]
    assert (item["stem_id"], item["uploader"], item["split_bps"]) == (duet.pk, "alice", 4000)
    assert item["consent"] == PENDING and item["split_percent"] == "40%"
    assert {(s["artist"], s["split_bps"]) for s in item["split"]} == {
        ("alice", 6000),
        ("bob", 4000),
    }
    assert api_for(artist).get("/api/v1/credits/").json()["count"] == 0  # own credits aren't asked

    accepted = api.post(f"/api/v1/credits/{item['id']}/accept/", {"split_bps": 4000}, format="json")
    assert accepted.status_code == 200 and accepted.json()["consent"] == ACCEPTED
    assert api.get("/api/v1/credits/").json()["count"] == 0
    assert api.get("/api/v1/credits/?consent=accepted").json()["count"] == 1
    assert _error(api.get("/api/v1/credits/?consent=maybe"))["code"] == "invalid"


def test_a_decline_tells_the_uploader_and_sends_the_stem_back_for_correction(
    duet, artist, other_artist, curator, api_for, mailoutbox, django_capture_on_commit_callbacks
):
    review_claim(stem=duet, curator=curator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(other_artist).post(
            f"/api/v1/credits/{_credit(duet, other_artist).pk}/decline/",
            {"message": "I only tuned the snare."},
            format="json",
        )
    assert response.status_code == 200 and response.json()["consent"] == DECLINED
    duet.refresh_from_db()
    assert duet.status == StemStatus.CHANGES_REQUESTED
    assert not ReviewClaim.objects.filter(stem=duet).exists()
    [notice] = Notification.objects.filter(user=artist)
    assert notice.kind == NotificationKind.CREDIT_DECLINED
    assert "declined their 40% credit" in notice.text and "I only tuned the snare." in notice.text
    [mail] = [m for m in mailoutbox if m.to == [artist.email]]
    assert "declined" in mail.subject and "I only tuned the snare." in mail.body
    assert f"/stems/{duet.pk}/edit/" in mail.body
    assert AuditEntry.objects.filter(action="credit.declined", actor=other_artist).count() == 1


def test_the_uploader_corrects_the_credits_and_only_changed_shares_are_asked_again(
    artist,
    other_artist,
    carol_artist,
    curator,
    make_stem,
    client_for,
    api_for,
    django_capture_on_commit_callbacks,
):
    stem = make_stem(
        artist,
        title="Trio",
        credits=[(artist, 5000), (other_artist, 3000), (carol_artist, 2000)],
        credit_consent=PENDING,
    )
    dora = api_for(carol_artist)
    dora.post(f"/api/v1/credits/{_credit(stem, carol_artist).pk}/accept/")
    api_for(other_artist).post(f"/api/v1/credits/{_credit(stem, other_artist).pk}/decline/")
    stem.refresh_from_db()
    assert stem.status == StemStatus.CHANGES_REQUESTED

    browser = client_for(artist)
    page = browser.get(f"/stems/{stem.pk}/changes/").content.decode()
    assert "Declined credits." in page and "alice 50\nbob 30\ndora 20" in page
    Notification.objects.all().delete()
    form = {
        "title": "Trio",
        "role": "drums",
        "bpm": "120",
        "bars": "4",
        "credits": "alice 60\nbob 20\ndora 20",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/stems/{stem.pk}/changes/", form)
    assert response.status_code == 302
    stem.refresh_from_db()
    assert stem.status == StemStatus.IN_REVIEW
    consents = {c.artist.username: (c.split_bps, c.consent) for c in stem.credits.all()}
    assert consents == {
        "alice": (6000, ACCEPTED),  # the uploader's own change: accepted as written
        "bob": (2000, PENDING),  # a new share: asked again
        "dora": (2000, ACCEPTED),  # unchanged: her yes stands
    }
    [notice] = Notification.objects.all()
    assert notice.user == other_artist and notice.kind == NotificationKind.CREDIT_REQUESTED
    assert "20%" in notice.text
    entry = AuditEntry.objects.get(action="stem.credits_updated", subject=f"stem:{stem.pk}")
    assert entry.after["consent_asked"] == ["bob"] and entry.after["changed"] == ["alice", "bob"]

    # Still no approval until Bob says yes to his new share.
    review_claim(stem=stem, curator=curator)
    with pytest.raises(ApplicationError, match="@bob"):
        stem_decide(stem=stem, curator=curator, decision="approve")


def test_changing_a_share_while_in_review_asks_again_and_removing_one_deletes_it(
    artist, other_artist, carol_artist, make_stem, client_for, django_capture_on_commit_callbacks
):
    stem = make_stem(
        artist, credits=[(artist, 5000), (other_artist, 3000), (carol_artist, 2000)]
    )  # everyone accepted
    form = {"title": stem.title, "role": "drums", "bpm": "120", "bars": "4"}
    browser = client_for(artist)
    # A post without the credits field leaves them alone.
    assert browser.post(f"/stems/{stem.pk}/edit/", form).status_code == 302
    assert set(stem.credits.values_list("consent", flat=True)) == {ACCEPTED}

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/stems/{stem.pk}/edit/", {**form, "credits": "alice 50\nbob 50"})
    assert response.status_code == 302
    consents = {c.artist.username: (c.split_bps, c.consent) for c in stem.credits.all()}
    assert consents == {"alice": (5000, ACCEPTED), "bob": (5000, PENDING)}
    assert Notification.objects.filter(
        user=other_artist, kind=NotificationKind.CREDIT_REQUESTED
    ).exists()
    assert not Notification.objects.filter(user=carol_artist).exists()


def test_bad_corrected_credits_say_what_to_fix_and_change_nothing(duet, artist, client_for):
    form = {"title": "Renamed", "role": "drums", "bpm": "120", "bars": "4"}
    response = client_for(artist).post(
        f"/stems/{duet.pk}/edit/", {**form, "credits": "alice 60\nbob 30"}
    )
    assert response.status_code == 400
    assert "add up to 90.00%" in response.content.decode()
    duet.refresh_from_db()
    assert duet.title == "Night duet"  # the metadata half did not stay either
    assert {(c.artist.username, c.split_bps) for c in duet.credits.all()} == {
        ("alice", 6000),
        ("bob", 4000),
    }


def test_the_openapi_schema_documents_the_credit_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    listing = paths["/api/v1/credits/"]["get"]
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page.endswith("/CreditPage")
    assert "consent" in {p["name"] for p in listing["parameters"]}
    for verb in ("accept", "decline"):
        operation = paths[f"/api/v1/credits/{{credit_id}}/{verb}/"]["post"]
        assert {"200", "403", "404", "409"} <= set(operation["responses"])
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body.endswith("/CreditAnswerRequest")
    answer = schema["components"]["schemas"]["CreditAnswerRequest"]["properties"]
    assert {"message", "split_bps"} <= set(answer)
    given = schema["components"]["schemas"]["CreditGiven"]["properties"]
    assert {"consent", "consent_decided_at", "split"} <= set(given)


# --- 4. Adversaries -------------------------------------------------------------------------------
def test_only_the_credited_artist_can_answer_their_credit(
    duet, artist, other_artist, outsider, curator, staff, api_for, app_api
):
    credit = _credit(duet, other_artist)
    for verb in ("accept", "decline"):
        uploader = api_for(artist).post(f"/api/v1/credits/{credit.pk}/{verb}/")
        assert uploader.status_code == 403 and _error(uploader)["code"] == "not_your_credit"
        stranger = api_for(outsider).post(f"/api/v1/credits/{credit.pk}/{verb}/")
        assert stranger.status_code == 404 and _error(stranger)["code"] == "credit_not_found"
        for reviewer in (curator, staff):
            refused = api_for(reviewer).post(f"/api/v1/credits/{credit.pk}/{verb}/")
            assert refused.status_code == 403 and _error(refused)["message"]
        assert api_for(None).post(f"/api/v1/credits/{credit.pk}/{verb}/").status_code in (401, 403)
    missing = api_for(outsider).post("/api/v1/credits/999999/accept/")
    assert missing.status_code == 404 and _error(missing)["code"] == "credit_not_found"
    from tests.factories.clients import ClientAppFactory

    # The credited artist's own client app cannot answer for them either.
    app_credential = app_api(ClientAppFactory(owner=other_artist, name="Bob's app"))
    assert app_credential.post(f"/api/v1/credits/{credit.pk}/accept/").status_code == 403
    assert Credit.objects.get(pk=credit.pk).consent == PENDING
    assert not AuditEntry.objects.filter(action__startswith="credit.").exists()


def test_the_uploader_cannot_accept_for_a_credited_artist_on_the_page(
    duet, artist, other_artist, outsider, client_for
):
    credit = _credit(duet, other_artist)
    response = client_for(artist).post(f"/credits/{credit.pk}/accept/", {"split_bps": 4000})
    assert response.status_code == 403
    response = client_for(outsider).post(f"/credits/{credit.pk}/accept/", {"split_bps": 4000})
    assert response.status_code == 404
    assert "Night duet" not in client_for(outsider).get("/credits/").content.decode()
    assert Credit.objects.get(pk=credit.pk).consent == PENDING


def test_an_artist_cannot_answer_for_their_own_share_on_their_own_stem(duet, artist, api_for):
    response = api_for(artist).post(f"/api/v1/credits/{_credit(duet, artist).pk}/decline/")
    assert response.status_code == 409 and _error(response)["code"] == "own_credit"
    assert _credit(duet, artist).consent == ACCEPTED


def test_accepting_twice_is_a_no_op(duet, other_artist, api_for):
    api = api_for(other_artist)
    url = f"/api/v1/credits/{_credit(duet, other_artist).pk}/accept/"
    first, second = api.post(url), api.post(url)
    assert first.status_code == second.status_code == 200
    assert first.json()["consent_decided_at"] == second.json()["consent_decided_at"]
    assert AuditEntry.objects.filter(action="credit.accepted").count() == 1


def test_declining_twice_tells_the_uploader_once(
    duet, artist, other_artist, api_for, django_capture_on_commit_callbacks
):
    url = f"/api/v1/credits/{_credit(duet, other_artist).pk}/decline/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(other_artist).post(url).status_code == 200
        assert api_for(other_artist).post(url).status_code == 200
    assert Notification.objects.filter(user=artist).count() == 1


@pytest.mark.parametrize("ending", ["withdrawn", "rejected"])
def test_answering_after_the_stem_was_withdrawn_or_rejected_is_refused(
    ending, duet, artist, other_artist, curator, api_for
):
    if ending == "withdrawn":
        stem_withdraw(stem=duet, actor=artist)
    else:
        review_claim(stem=duet, curator=curator)
        stem_decide(
            stem=duet, curator=curator, decision="reject", reason_template=ReasonTemplateFactory()
        )
    credit = _credit(duet, other_artist)
    for verb in ("accept", "decline"):
        response = api_for(other_artist).post(f"/api/v1/credits/{credit.pk}/{verb}/")
        assert response.status_code == 409
        error = _error(response)
        assert error["code"] == "stem_closed" and ending in error["message"]
    assert Credit.objects.get(pk=credit.pk).consent == PENDING
    assert api_for(other_artist).get("/api/v1/credits/").json()["count"] == 0


def test_a_share_that_changed_since_it_was_read_cannot_be_accepted(
    duet, artist, other_artist, api_for
):
    from portal.stems.services.lifecycle import stem_update_credits

    credit = _credit(duet, other_artist)
    stem_update_credits(
        stem=duet,
        actor=artist,
        credits=[
            {"artist": "alice", "split_percent": Decimal("90")},
            {"artist": "bob", "split_percent": Decimal("10")},
        ],
    )
    response = api_for(other_artist).post(
        f"/api/v1/credits/{credit.pk}/accept/", {"split_bps": 4000}, format="json"
    )
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "credit_changed" and "10%" in error["message"]
    assert _credit(duet, other_artist).consent == PENDING


def test_a_decision_in_the_vault_is_final(duet, other_artist, curator, api_for):
    api = api_for(other_artist)
    credit = _credit(duet, other_artist)
    api.post(f"/api/v1/credits/{credit.pk}/accept/")
    review_claim(stem=duet, curator=curator)
    stem_decide(stem=duet, curator=curator, decision="approve")
    response = api.post(f"/api/v1/credits/{credit.pk}/decline/")
    assert response.status_code == 409 and _error(response)["code"] == "consent_final"
    assert api.post(f"/api/v1/credits/{credit.pk}/accept/").status_code == 200  # same answer
    assert _credit(duet, other_artist).consent == ACCEPTED


def test_only_the_uploader_can_change_the_credits(duet, other_artist, staff):
    from portal.core.errors import PermissionDenied
    from portal.stems.services.lifecycle import stem_update_credits

    for intruder in (other_artist, staff):
        with pytest.raises(PermissionDenied):
            stem_update_credits(
                stem=duet,
                actor=intruder,
                credits=[{"artist": "bob", "split_percent": Decimal("100")}],
            )
    assert {(c.artist.username, c.split_bps) for c in duet.credits.all()} == {
        ("alice", 6000),
        ("bob", 4000),
    }


# --- 5. Existing data ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_migration_treats_credits_of_stems_already_in_the_vault_as_accepted(
    artist, other_artist, make_stem
):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    duo = [(artist, 6000), (other_artist, 4000)]
    approved = make_stem(artist, status=StemStatus.APPROVED, credits=duo, credit_consent=PENDING)
    taken_down = make_stem(
        artist, status=StemStatus.TAKEN_DOWN, credits=duo, credit_consent=PENDING
    )
    waiting = make_stem(artist, status=StemStatus.IN_REVIEW, credits=duo, credit_consent=ACCEPTED)

    executor = MigrationExecutor(connection)
    executor.migrate([("stems", "0001_initial")])  # the schema before consent existed
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    for stem in (approved, taken_down):
        consents = {c.artist.username: c.consent for c in stem.credits.all()}
        assert consents == {"alice": ACCEPTED, "bob": ACCEPTED}
        entry = AuditEntry.objects.get(action="credit.accepted", subject=f"stem:{stem.pk}")
        assert entry.actor is None and "migration" in entry.note
    consents = {c.artist.username: c.consent for c in waiting.credits.all()}
    assert consents == {"alice": ACCEPTED, "bob": PENDING}  # not yet approved: Bob is asked
    assert _credit(waiting, other_artist).consent_requested_at == waiting.created_at
    # The vault keeps working: the approved stem needs nothing more from anyone.
    assert list(Credit.objects.filter(stem__status=StemStatus.APPROVED, consent=PENDING)) == []
