from __future__ import annotations

from portal.core.pseudonyms import pseudonym


def test_a_pseudonym_is_stable_and_reveals_nothing_of_the_id():
    name = pseudonym("L", 3, "alice@example.com")
    assert name == pseudonym("L", 3, "alice@example.com")
    assert name.startswith("L-") and len(name) == 14
    assert "alice" not in name


def test_another_app_kind_or_id_gives_another_pseudonym():
    names = {
        pseudonym("L", 3, "user-1"),
        pseudonym("L", 4, "user-1"),  # the same listener id of another app is another person
        pseudonym("L", 3, "user-2"),
        pseudonym("S", 3, "user-1"),
    }
    assert len(names) == 4


def test_the_pseudonym_depends_on_the_sites_secret(settings):
    before = pseudonym("L", 1, "x")
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    assert pseudonym("L", 1, "x") != before
