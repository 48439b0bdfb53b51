from service.matching.text import FoldedText, fold, sentence_starts, snippet


def test_folding_ignores_case_and_accents() -> None:
    assert fold("Erdoğan MET Sánchez") == "erdogan met sanchez"


def test_folding_turns_hyphens_into_spaces() -> None:
    assert fold("Kim Jong-un") == "kim jong un"


def test_folding_reads_traditional_chinese_as_simplified_one_character_for_one() -> None:
    traditional = "解放軍向太平洋試射洲際導彈"
    assert fold(traditional) == "解放军向太平洋试射洲际导弹"
    assert len(fold(traditional)) == len(traditional)


def test_folding_keeps_korean_syllables_whole() -> None:
    assert fold("김정은") == "김정은"


def test_offsets_map_back_when_a_character_expands() -> None:
    text = FoldedText("Straße nach Kiew")
    start = text.folded.index("kiew")
    assert text.original[text.to_original(start) : text.to_original(start + 4)] == "Kiew"


def test_offsets_are_unchanged_when_every_character_folds_to_one() -> None:
    text = FoldedText("Zelenskyy’s visit")
    assert text.to_original(12) == 12


def test_sentences_split_after_full_stops_before_capitals() -> None:
    text = "Putin met Xi. They talked for hours."
    assert [text[i:] for i in sentence_starts(text)][1] == "They talked for hours."


def test_a_headline_s_semicolon_separates_two_items_and_a_body_s_does_not() -> None:
    text = "Murillo y Gil se reúnen en Caracas; un encuentro entre Petro y Maduro, sin fecha"
    starts = sentence_starts(text, headline=True)
    assert [text[i:] for i in starts] == [text, "un encuentro entre Petro y Maduro, sin fecha"]
    assert sentence_starts(text) == [0]


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = "U.S. President Joe Biden met Sergei K. Shoigu at 9 a.m. on Friday. Then he left."
    assert len(sentence_starts(text)) == 2


def test_abbreviations_of_the_other_languages_before_a_number_do_not_end_sentences() -> None:
    text = "Pocisk przeleciał ok. 1100 km i spadł do morza. Die Rakete flog ca. 300 Kilometer weit."
    assert len(sentence_starts(text)) == 2


def test_the_hindi_titles_of_a_doctor_and_a_professor_do_not_end_sentences() -> None:
    text = "डीआरडीओ ने बुधवार सुबह डॉ. एपीजे अब्दुल कलाम द्वीप से मिसाइल का परीक्षण किया। प्रो. शर्मा ने इसकी सराहना की।"
    assert len(sentence_starts(text)) == 2


def test_a_day_written_as_an_ordinal_number_before_a_month_does_not_end_a_sentence() -> None:
    text = "Die seit dem 2. April geltende Waffenruhe wurde verlängert. Am 24. Februar 2022 begann der Krieg."
    assert len(sentence_starts(text)) == 2


def test_a_year_or_a_count_before_a_full_stop_still_ends_its_sentence() -> None:
    assert len(sentence_starts("Er kam 2019. April war kalt.")) == 2
    assert len(sentence_starts("Die Zahl stieg auf 2. Danach fiel sie.")) == 2


def test_chinese_and_japanese_full_stops_end_sentences_with_no_space_after_them() -> None:
    text = "阅兵式上，导弹方队首次亮相。2024年9月火箭军曾发射一发洲际弹道导弹。「引用です。」次の文です！"
    starts = sentence_starts(text)
    sentences = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    assert sentences == [
        "阅兵式上，导弹方队首次亮相。",
        "2024年9月火箭军曾发射一发洲际弹道导弹。",
        "「引用です。」",
        "次の文です！",
    ]


def test_a_danda_ends_a_hindi_sentence() -> None:
    text = "मोदी और लूला ने ब्रासीलिया में वार्ता की। 2019 में भारत ने एक परीक्षण किया था॥ तीसरा वाक्य।"
    starts = sentence_starts(text)
    sentences = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    assert sentences == [
        "मोदी और लूला ने ब्रासीलिया में वार्ता की। ",
        "2019 में भारत ने एक परीक्षण किया था॥ ",
        "तीसरा वाक्य।",
    ]


def test_line_breaks_end_sentences() -> None:
    assert len(sentence_starts("Headline without a stop\nBody text.")) == 2


def test_snippet_cuts_at_spaces_and_marks_truncation() -> None:
    text = "word " * 40 + "TARGET" + " word" * 40
    start = text.index("TARGET")
    excerpt = snippet(text, start, start + 6, width=20)
    assert excerpt.startswith("…word")
    assert excerpt.endswith("word…")
    assert "TARGET" in excerpt
