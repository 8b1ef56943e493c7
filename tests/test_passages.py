from bot.passages import MAX_SPAN_CHARS, make_spans, parse_passages, passage_text

BODY = """Intro sentence one. Dr. Smith said it works. Is it new?

## Who can have it?

It is offered in specific cases:

- Patients under fifty.
- Patients with active disease. Really active.

## Results

### Numbers

Two-thirds stayed well after 10 years.
"""


def _texts(body: str) -> list[str]:
    return [body[p.start : p.end] for p in parse_passages("doc", body)]


def test_paragraphs_and_lists_with_lead_in_become_passages() -> None:
    passages = parse_passages("doc", BODY)
    assert [p.id for p in passages] == ["doc-p01", "doc-p02", "doc-p03"]
    assert passages[1].headings == ("Who can have it?",)
    assert BODY[passages[1].start : passages[1].end].startswith("It is offered in specific cases:")
    assert BODY[passages[1].start : passages[1].end].endswith("Really active.")
    assert passages[2].headings == ("Results", "Numbers")


def test_headings_are_context_never_passage_text() -> None:
    for text in _texts(BODY):
        assert "#" not in text
        assert "Who can have it?" not in text


def test_every_sentence_offset_is_exact() -> None:
    for passage in parse_passages("doc", BODY):
        for sentence in passage.sentences:
            text = BODY[sentence.start : sentence.end]
            assert text == text.strip() and text
            assert passage.start <= sentence.start < sentence.end <= passage.end


def test_sentence_splitter_keeps_abbreviations_and_splits_list_items() -> None:
    first = parse_passages("doc", BODY)[0]
    sentences = [BODY[s.start : s.end] for s in first.sentences]
    assert sentences == ["Intro sentence one.", "Dr. Smith said it works.", "Is it new?"]
    items = [BODY[s.start : s.end] for s in parse_passages("doc", BODY)[1].sentences]
    assert items == [
        "It is offered in specific cases:",
        "Patients under fifty.",
        "Patients with active disease.",
        "Really active.",
    ]


def test_spans_never_hold_a_question_a_dangling_lead_in_or_too_many_chars() -> None:
    passages = parse_passages("doc", BODY)
    spans = make_spans(passages, {"doc": BODY})
    texts = [BODY[s.start : s.end] for s in spans]
    assert "Intro sentence one. Dr. Smith said it works." in texts
    assert all("?" not in t for t in texts)
    assert all(not t.rstrip().endswith(":") for t in texts)
    assert all(len(t) <= MAX_SPAN_CHARS for t in texts)
    assert all(s.last - s.first < 3 for s in spans)


def test_span_needs_enough_words() -> None:
    body = "Effectiveness:\n\n- Halted in 70% of patients in studies.\n"
    spans = make_spans(parse_passages("doc", body), {"doc": body})
    assert "Halted in 70% of patients in studies." in [body[s.start : s.end] for s in spans]
    assert all(body[s.start : s.end] != "Effectiveness:" for s in spans)


def test_long_single_sentence_is_kept_whole() -> None:
    sentence = "This sentence " + "goes on and on " * 30 + "until it ends."
    spans = make_spans(parse_passages("doc", sentence), {"doc": sentence})
    assert [(s.start, s.end) for s in spans] == [(0, len(sentence))]


def test_passage_text_carries_heading_path() -> None:
    passage = parse_passages("doc", BODY)[2]
    assert passage_text(passage, BODY).startswith("Results > Numbers\nTwo-thirds")
