"""Pattern sets: the RE2 screen may only ever skip patterns that ``re`` would not match."""

import re

import hypothesis
import pytest
from hypothesis import strategies as st

from bot import patternset
from bot.patternset import PatternSet, Untranslatable, to_re2
from bot.safety import clauses, normalise
from bot.safety_eval import load_safety_cases
from bot.safety_rules import load_rules
from tests.conftest import ROOT

RULES = load_rules(ROOT / "knowledge")
REAL = [*RULES.findable.patterns, *RULES.sign_set.patterns]


def _searched(patterns: list[re.Pattern[str]], text: str) -> list[tuple[int, tuple[int, int]]]:
    """What searching each pattern with ``re`` finds: index and span."""
    return [(i, m.span()) for i, p in enumerate(patterns) if (m := p.search(text))]


def _found(pattern_set: PatternSet, text: str) -> list[tuple[int, tuple[int, int]]]:
    return [(i, m.span()) for i, m in pattern_set.matches(text)]


def test_re2_is_installed_and_screens_the_real_rules() -> None:
    # the dependency is declared: without it triage is right but ~100 µs a clause slower
    assert patternset.re2 is not None
    assert PatternSet(REAL).screened == len(REAL) - 1  # one rule has a look-ahead


def _eval_texts() -> list[str]:
    paths = sorted((ROOT / "knowledge" / "eval").glob("safety*.yaml"))
    messages = [case.text for path in paths for case in load_safety_cases(path)]
    assert len(messages) > 500
    pairs = [pair for message in messages for pair in clauses(normalise(message, RULES))]
    return list(dict.fromkeys(text for pair in pairs for text in pair))


def test_the_screen_finds_what_re_finds_on_every_safety_eval_message() -> None:
    """Every sentence and clause triage searches in the safety eval sets: same patterns,
    same matches. Thousands of texts, a quarter of them with a hit."""
    pattern_set = PatternSet(REAL)
    texts = _eval_texts()
    with_hits = 0
    for text in texts:
        expected = _searched(REAL, text)
        assert _found(pattern_set, text) == expected, text
        with_hits += bool(expected)
    assert with_hits > len(texts) // 5


# words from the real patterns, so random texts often come near a match
VOCABULARY = sorted({w for p in REAL for w in re.findall(r"[a-z]{2,}", p.pattern)})
SCREENED = PatternSet(REAL)
WORDS = st.sampled_from([*VOCABULARY, "38.5", "39", "a", "my", "is", "now", "é", "\t", "Ω"])


@hypothesis.settings(max_examples=400, deadline=None, derandomize=True)
@hypothesis.given(words=st.lists(WORDS, max_size=14), glue=st.sampled_from([" ", "  ", "-", ", "]))
def test_the_screen_finds_what_re_finds_on_random_texts(words: list[str], glue: str) -> None:
    text = glue.join(words)
    assert _found(SCREENED, text) == _searched(REAL, text)


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        (r"\bchest pain\b", ["chest pain", "chest pains", "a chest pain now", "xchest pain"]),
        (r"a{,3}b", ["b", "aaab", "aaaab", "{,3}b"]),  # `{,3}` is a count to re, text to RE2
        (r"[^\d\s]x", ["1x", " x", "ax", "x"]),
        (r"\d{2,3}(?:[.,]\d)?\s*c\b", ["38.5 c", "38,5c", "385c", "3c"]),
        (r"end\Z", ["the end", "end of it", "end\n"]),
        (r"end$", ["the end", "end of it"]),
        (r"^start", ["start here", "a start"]),
        (r"\Bing\b", ["going", "ing", "sing song"]),
        (r"(fit|fits)+?\b", ["fits", "fitfit", "fi"]),
        (r"caf\u00e9", ["cafe", "caf"]),  # a non-ASCII letter never matches screened text
        pytest.param(
            r"[[:alpha:]]",  # a set of [ : a l p h to re, not a class
            ["a", ":", "[", "x"],
            marks=pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning"),
        ),
        (r"a.b", ["axb", "a b", "ab"]),
        (r"\W+\w", ["!!a", "a", " b"]),
    ],
)
def test_rewritten_patterns_match_the_same_texts(pattern: str, texts: list[str]) -> None:
    compiled = re.compile(pattern)
    pattern_set = PatternSet([compiled])
    for text in texts:
        assert _found(pattern_set, text) == _searched([compiled], text), (pattern, text)


@pytest.mark.parametrize(
    "pattern",
    [r"a(?!b)", r"(?<=a)b", r"(a)\1", r"(?i)chest", r"(?>a+)b", r"a++", r"a{1001}"],
)
def test_what_re2_lacks_or_reads_otherwise_is_searched_not_screened(pattern: str) -> None:
    compiled = re.compile(pattern)
    with pytest.raises(Untranslatable):
        to_re2(compiled)
    pattern_set = PatternSet([re.compile(r"\bnever\b"), compiled])
    assert pattern_set.always == (1,)
    assert pattern_set.candidates("zzz") == [1]  # searched though the screen says no


def test_text_the_screen_cannot_judge_gets_every_pattern_searched() -> None:
    pattern_set = PatternSet([re.compile(r"\bchest pain\b"), re.compile(r"\bfever\b")])
    # non-ASCII letters and tabs: re and RE2 disagree on \b, \w and \s there
    assert _found(pattern_set, "café chest pain") == [(0, (5, 15))]
    assert _found(pattern_set, "fever\tchest pain") == [(0, (6, 16)), (1, (0, 5))]
    assert pattern_set.candidates("ça va") == []  # each searched: none matches


def test_if_re2_fails_every_pattern_is_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    """RE2 reports running out of memory as no match at all: the sentinel catches it."""
    pattern_set = PatternSet([re.compile(r"\bchest pain\b"), re.compile(r"\bfever\b")])
    monkeypatch.setattr(pattern_set, "_set", _Failing())
    assert _found(pattern_set, "chest pain and fever") == [(0, (0, 10)), (1, (15, 20))]


def test_a_set_too_big_for_re2_is_searched_pattern_by_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(patternset, "_RE2_MAX_MEM", 1 << 10)  # RE2 cannot compile in this
    pattern_set = PatternSet(REAL)
    assert pattern_set.screened == 0
    text = "chest pain and i cant breathe"
    assert _found(pattern_set, text) == _searched(REAL, text)


class _Failing:
    def Match(self, text: str) -> None:  # RE2 names it so
        return None


def test_without_re2_every_pattern_is_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patternset, "re2", None)
    pattern_set = PatternSet(REAL)
    assert pattern_set.screened == 0
    assert _found(pattern_set, "chest pain and i cant breathe") == _searched(
        REAL, "chest pain and i cant breathe"
    )


def test_an_empty_set_matches_nothing() -> None:
    assert PatternSet([]).matches("anything") == []
