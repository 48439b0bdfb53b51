import pytest

from service.matching.inflect import inflections


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("meet", {"meets", "met", "meeting"}),
        ("supply", {"supplies", "supplied", "supplying"}),
        ("sell", {"sells", "sold", "selling"}),
        ("ship", {"ships", "shipped", "shipping"}),
        ("transfer", {"transferred", "transferring"}),
        ("receive", {"receives", "received", "receiving"}),
        ("visit", {"visits", "visited", "visiting"}),
        ("buy", {"buys", "bought", "buying"}),
    ],
)
def test_inflections_include_the_forms_news_texts_use(word: str, forms: set[str]) -> None:
    assert forms <= inflections(word)


def test_irregular_verbs_get_no_regular_past() -> None:
    assert "selled" not in inflections("sell")


def test_words_outside_english_are_left_alone() -> None:
    assert inflections("встреча") == {"встреча"}


def test_british_spelling_doubles_a_final_l() -> None:
    assert {"cancelled", "canceled", "travelling"} <= inflections("cancel") | inflections("travel")
