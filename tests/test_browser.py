"""The product in a real browser: Debian's chromium driven by Playwright, against a real
server (uvicorn in a thread) over the real knowledge and the real model, since what a patient
sees is the point here. Screenshots of every page at 1280 px and 360 px go to
``test-output/screenshots/``.

``make test`` installs chromium and axe-core first (see the Makefile).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Frame, Page, expect, sync_playwright
from pydantic import SecretStr

from bot import service
from bot.api import create_app
from bot.embed import Embedder
from bot.settings import Settings
from tests.conftest import ROOT, serving

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-output" / "screenshots"
TOKEN = "browser-test-token-0123"
CLINIC = "https://clinic.example"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
QUESTION = "How long is the recovery after stem cell transplant?"
EMERGENCY = "I have a fever of 39 and chills, two weeks after my transplant"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Iterator[str]:
    """A real server on a free port, with staff lookup on and one clinic allowed to embed."""
    folder = tmp_path_factory.mktemp("browser")
    settings = Settings(
        knowledge_dir=ROOT / "knowledge",
        index_dir=folder / "index",
        feedback_db=folder / "feedback.sqlite3",
        staff_token=SecretStr(TOKEN),
        embed_origins=[CLINIC],
    )
    service.build(settings, embedder=real_embedder)
    with serving(create_app(settings, real_embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page plus every script error and every dialog it raised: none may happen."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport=WIDTHS["desktop"])
    yield Watched(context.new_page())
    context.close()


def _ask(page: Page | Frame, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def _shoot(page: Page, name: str) -> None:
    """Full-page screenshots at 1280 px and 360 px wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(WIDTHS["desktop"])


def test_ask_on_the_chat_page_shows_a_cited_quote(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/")
    _ask(page, QUESTION)
    quote = page.locator(".log li.answer blockquote.quote").first
    expect(quote).to_contain_text("return to work after three months")
    # screen readers hear the framing line and the first quote from the live region
    expect(page.locator("#announce[aria-live=polite]")).to_contain_text("three months")
    # the citation link moves focus to its source card, which has title and reference
    cite = page.locator(".log li.answer a.cite").first
    title = str(cite.get_attribute("aria-label")).removeprefix("Source 1: ")
    cite.click()
    assert page.evaluate("document.activeElement.id") == "turn1-src-1"
    expect(page.locator("#turn1-src-1")).to_contain_text(title)
    # "show context" reveals the paragraph with the quote highlighted
    page.get_by_role("button", name="Show context").first.click()
    expect(page.locator("#turn1-ctx-1 mark")).to_have_text(quote.locator("p").inner_text())
    # a vote is stored
    page.get_by_role("button", name="Yes").first.click()
    expect(page.locator(".votes-thanks").first).to_have_text("Thank you for telling us.")
    assert page.evaluate("localStorage.length") == 0  # history lives in page memory only
    _shoot(page, "chat")
    assert not watched.errors and not watched.dialogs


def _quote(text: str, source: str) -> dict[str, Any]:
    """A quote as the API sends it, from a source known by its citation only."""
    citation = f"{source}. Example Publisher; 2024."
    about = {"id": source, "title": source, "publisher": None, "url": None, "published": None}
    return {
        "text": text,
        "passage_id": f"{source}#p1",
        "score": 0.8,
        "source": about | {"citation": citation},
        "context": None,
    }


def test_quotes_from_one_source_share_its_entry(base_url: str, watched: Watched) -> None:
    """Listed once per quote, one source would read like two that agree."""
    page = watched.page
    page.goto(base_url + "/")
    reply = {
        "kind": "answer",
        "text": "Here is what the clinic's sources say:",
        "quotes": [_quote("First.", "Alpha"), _quote("Second.", "Beta"), _quote("Third.", "Alpha")],
        "suggestions": [],
        "disclaimer": "General information.",
    }
    page.route("**/api/chat", lambda route: route.fulfill(json=reply))
    _ask(page, QUESTION)
    expect(page.locator(".log li.answer a.cite")).to_have_text(["[1]", "[2]", "[1]"])
    expect(page.locator(".log li.answer .sources li")).to_have_text(
        ["Alpha. Example Publisher; 2024.", "Beta. Example Publisher; 2024."]
    )
    page.locator(".log li.answer a.cite").nth(2).click()
    assert page.evaluate("document.activeElement.id") == "turn1-src-1"
    assert not watched.errors


def test_keyboard_only(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the question box"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type("Who can get AHSCT?")
    page.keyboard.press("Enter")
    expect(page.locator(".log li.answer")).to_have_count(1)
    # the cursor stays in the question box; Tab reaches the Ask button, and Shift+Tab from the
    # box goes back up into the reply, to its last suggestion chip
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    chip = page.locator(".log li.answer .chips button").last
    expect(chip).to_be_focused()
    suggestion = chip.inner_text()
    page.keyboard.press("Enter")
    expect(page.locator(".log li.bot:not(.thinking)")).to_have_count(2)
    expect(page.locator(".log li.user p").last).to_have_text(suggestion)
    assert not watched.errors


def test_thinking_state_then_a_failure_with_retry(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/")
    held: list[Any] = []
    page.route("**/api/chat", lambda route: held.append(route))
    _ask(page, QUESTION)
    expect(page.locator(".log li.thinking")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Looking that up")
    expect(page.locator("#send")).to_be_disabled()
    held[0].abort()  # the network fails
    retry = page.get_by_role("button", name="Try again")
    expect(retry).to_be_focused()
    expect(page.locator(".log li.error")).to_contain_text("Could not reach the server")
    expect(page.locator(".log li.thinking")).to_have_count(0)
    page.unroute("**/api/chat")
    page.keyboard.press("Enter")
    expect(page.locator(".log li.answer blockquote").first).to_contain_text("three months")
    expect(page.locator(".log li.error")).to_have_count(0)
    expect(page.locator(".log li.user")).to_have_count(1)  # the retry does not repeat the question
    expect(page.locator("#question")).to_be_focused()  # not lost with the retry button


def test_one_question_at_a_time(base_url: str, watched: Watched) -> None:
    """A double tap on a suggestion, or Enter before the answer came, sends nothing more."""
    page = watched.page
    page.goto(base_url + "/")
    _ask(page, QUESTION)
    chip = page.locator(".log li.answer .chips button").first
    held: list[Any] = []
    page.route("**/api/chat", lambda route: held.append(route))
    chip.dblclick()
    expect(page.locator("#send")).to_be_disabled()
    expect(chip).to_have_attribute("aria-disabled", "true")  # and looks it
    _ask(page, "Is it a cure?")  # typed and sent while the suggestion is still being answered
    page.wait_for_timeout(300)
    assert len(held) == 1
    expect(page.locator(".log li.user")).to_have_count(2)
    expect(page.locator("#question")).to_have_value("Is it a cure?")  # kept for after
    held[0].fallback()
    page.unroute("**/api/chat")
    expect(page.locator(".log li.bot:not(.thinking)")).to_have_count(2)
    page.press("#question", "Enter")
    expect(page.locator(".log li.user")).to_have_count(3)
    expect(page.locator(".log li.bot:not(.thinking)")).to_have_count(3)
    assert not watched.errors


def test_a_message_cut_at_the_limit_says_so(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/")
    page.focus("#question")
    page.keyboard.insert_text("Is recovery slow? " * 70)  # a paste of 1260 characters
    assert page.eval_on_selector("#question", "box => box.value.length") == 1000
    # said in the dock, beside the box, where it is on screen whatever the scroll
    limit = page.locator(".dock #question-limit")
    expect(limit).to_contain_text("as long as a question can be")
    page.keyboard.press("Backspace")
    expect(limit).to_be_hidden()


def test_a_failure_while_the_next_question_is_typed_leaves_the_cursor_there(
    base_url: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(base_url + "/")
    held: list[Any] = []
    page.route("**/api/chat", lambda route: held.append(route))
    _ask(page, QUESTION)
    page.keyboard.type("and the risks")  # while the first is being answered
    held[0].abort()
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    expect(page.locator("#question")).to_be_focused()  # Enter must not resend the old one
    expect(page.locator("#question")).to_have_value("and the risks")


def test_an_answer_that_never_comes_gives_up_and_offers_a_retry(
    base_url: str, watched: Watched
) -> None:
    page = watched.page
    page.clock.install()
    page.goto(base_url + "/")
    page.route("**/api/chat", lambda route: None)  # held for good: a stalled connection
    _ask(page, QUESTION)
    expect(page.locator("#send")).to_be_disabled()
    page.clock.run_for(31_000)
    expect(page.locator(".log li.error")).to_contain_text("taking too long")
    expect(page.locator("#send")).to_be_enabled()  # new questions (an emergency) may be sent


def test_an_emergency_shows_the_alert_above_the_conversation(
    base_url: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(base_url + "/")
    _ask(page, QUESTION)
    expect(page.locator("#announce")).to_contain_text("three months")
    _ask(page, EMERGENCY)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("112")
    expect(alert.locator("a.call")).to_have_attribute("href", "tel:112")  # one tap to call
    expect(page.locator("#announce")).to_have_text("")  # the alert speaks for itself
    expect(page.locator(".log li.emergency blockquote")).to_have_count(0)
    alert_box, log_box = alert.bounding_box(), page.locator("#log").bounding_box()
    assert alert_box and log_box and alert_box["y"] < log_box["y"]
    _shoot(page, "emergency")


def test_only_the_whole_emergency_number_is_a_call_link(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/")
    text = "Call 112 now. Not 0112, 1120 or +112; <b>112</b> again."
    reply = {"kind": "emergency", "text": text, "quotes": [], "suggestions": [], "disclaimer": "."}
    page.route("**/api/chat", lambda route: route.fulfill(json=reply))
    _ask(page, EMERGENCY)
    alert = page.get_by_role("alert")
    expect(alert.locator("p").last).to_have_text(text)  # every word kept, markup as text
    expect(alert.locator("a.call")).to_have_count(2)
    assert page.locator(".alert b").count() == 0
    box = alert.locator("a.call").first.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44


def test_several_numbers_each_call_their_own(base_url: str, watched: Watched) -> None:
    """The longest number wins where two start alike: the clinic's "999 1234" is not 999."""
    page = watched.page
    page.goto(base_url + "/")
    numbers = "999|999 1234|+44 (0)20 7946 0000|116 123"
    page.evaluate(f"document.getElementById('alerts').dataset.call = {numbers!r}")
    text = "Ring 999 1234 or +44 (0)20 7946 0000; else 999. Samaritans: 116 123, 116 123."
    reply = {"kind": "emergency", "text": text, "quotes": [], "suggestions": [], "disclaimer": "."}
    page.route("**/api/chat", lambda route: route.fulfill(json=reply))
    _ask(page, EMERGENCY)
    calls = page.get_by_role("alert").locator("a.call")
    expect(calls).to_have_text(["999 1234", "+44 (0)20 7946 0000", "999", "116 123", "116 123"])
    hrefs = [calls.nth(i).get_attribute("href") for i in range(5)]
    assert hrefs == ["tel:9991234", "tel:+442079460000", "tel:999", "tel:116123", "tel:116123"]


def test_markup_in_a_question_is_shown_as_text(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/")
    attack = "<img src=x onerror=alert(1)> is AHSCT safe?"
    _ask(page, attack)
    expect(page.locator(".log li.bot:not(.thinking)")).to_have_count(1)
    expect(page.locator(".log li.user p").last).to_have_text(attack)
    assert page.locator(".log img").count() == 0
    assert not watched.dialogs


def test_widget_opens_answers_closes_and_keeps_the_conversation(
    base_url: str, watched: Watched
) -> None:
    page = watched.page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(base_url + "/widget-demo")
    launcher = page.get_by_role("button", name="Ask about MS and stem cells")
    launcher.click()
    panel = page.get_by_role("dialog", name="Ask about MS and stem cells")
    expect(panel).to_be_visible()
    frame = page.frame_locator("#faqbot-widget-panel iframe")
    expect(frame.locator(".greeting")).to_contain_text("Ask me about stem-cell therapy")
    expect(frame.locator("#question")).to_be_focused()  # ready to type
    frame.locator("#question").fill(QUESTION)
    frame.locator("#question").press("Enter")
    expect(frame.locator("li.answer blockquote.quote").first).to_contain_text("three months")
    _shoot(page, "widget-open")
    page.get_by_role("button", name="Close the chat").click()
    expect(panel).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "faqbot-widget-launcher"
    launcher.click()
    expect(frame.locator("li.answer")).to_have_count(1)  # the conversation is still there
    # Escape inside the chat closes it too
    frame.locator("#question").press("Escape")
    expect(panel).to_be_hidden()
    assert all(url.startswith(base_url) for url in requests), requests
    assert page.context.cookies() == []
    assert not watched.errors


WIDGET = "Ask about MS and stem cells"
_IN_PANEL = "() => document.getElementById('faqbot-widget-panel').contains(document.activeElement)"


@pytest.fixture
def widget_page(base_url: str, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The widget demo at the width the test names (``@pytest.mark.parametrize`` on
    ``widget_page`` indirectly), with the widget opened."""
    context = browser.new_context(viewport=WIDTHS[request.param])
    page = context.new_page()
    page.goto(base_url + "/widget-demo")
    page.get_by_role("button", name=WIDGET).click()
    yield page
    context.close()


@pytest.mark.parametrize("widget_page", ["phone"], indirect=True)
def test_on_a_phone_tab_goes_round_inside_the_widget(widget_page: Page) -> None:
    """Covering the clinic's page, the panel is modal: focus never reaches the page behind."""
    page = widget_page
    expect(page.get_by_role("dialog", name=WIDGET)).to_have_attribute("aria-modal", "true")
    frame = page.frame_locator("#faqbot-widget-panel iframe")
    expect(frame.locator("#question")).to_be_focused()
    for _ in range(12):  # round the chat's controls and out of its frame, several times
        page.keyboard.press("Tab")
        assert page.evaluate(_IN_PANEL)
    page.get_by_role("button", name="Close the chat").focus()
    page.keyboard.press("Shift+Tab")
    expect(frame.locator("#send")).to_be_focused()  # round to the chat's last control


@pytest.mark.parametrize("widget_page", ["desktop"], indirect=True)
def test_the_widget_is_modal_only_while_it_covers_the_page(widget_page: Page) -> None:
    page = widget_page
    panel = page.get_by_role("dialog", name=WIDGET)
    expect(panel).to_have_attribute("aria-modal", "false")  # floating beside the page
    page.get_by_role("button", name=WIDGET).focus()  # out in the page
    page.set_viewport_size(WIDTHS["phone"])  # a phone turned upright: the panel covers it
    expect(panel).to_have_attribute("aria-modal", "true")
    page.wait_for_function(_IN_PANEL)  # focus follows the panel rather than stay unseen behind


def test_widget_options_come_from_its_data_attributes(base_url: str, watched: Watched) -> None:
    page = watched.page
    page.goto(base_url + "/healthz")  # any page of the server's origin, then a host page in it
    page.set_content(
        f'<html lang="en"><body><script src="{base_url}/widget.js" data-title="Chat with us" '
        'data-colour="#ffcc00" data-position="left"></script></body></html>'
    )
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 100  # on the left
    style = launcher.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
    )
    assert style == ["rgb(255, 204, 0)", "rgb(0, 0, 0)"]  # black text on a light colour
    assert launcher.get_attribute("aria-expanded") == "false"


def test_embed_carries_the_configured_frame_ancestors(base_url: str, watched: Watched) -> None:
    response = watched.page.goto(base_url + "/embed")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {CLINIC}" in policy
    chat = watched.page.request.get(base_url + "/")
    assert "frame-ancestors 'none'" in chat.headers["content-security-policy"]
    _shoot(watched.page, "embed")


def test_staff_page_refuses_without_the_token_and_searches_with_it(
    base_url: str, watched: Watched
) -> None:
    page = watched.page
    response = page.goto(base_url + "/staff")
    assert response is not None and response.status == 401
    _shoot(page, "staff-login")
    page.fill("#token", "a-wrong-token-of-some-length")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.fill("#token", TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Staff lookup")).to_be_visible()
    page.fill("#q", "return to work")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#hits > li").first).to_be_visible()
    expect(page.locator("#hits mark").first).to_be_visible()
    expect(page.locator("#patient")).to_contain_text("Reply kind: answer")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy answer with citation").first.click()
    expect(page.locator("#search-status")).to_have_text("Copied the answer with its citation.")
    copied = page.evaluate("navigator.clipboard.readText()")
    answer = page.locator("#hits > li").first.locator("blockquote").inner_text()
    assert copied.startswith(f"\u201c{answer}\u201d ") and "Reports on:" in copied
    _shoot(page, "staff")
    # the sign-in form is served with status 401 on purpose; chromium logs that as an error
    assert [e for e in watched.errors if "status of 401" not in e] == []


def _targets_too_small(page: Page | Frame) -> list[str]:
    """Buttons, citation links and the question box smaller than 44 px either way."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('button, a.cite, textarea, .sources a')]
              .filter(n => n.offsetParent !== null)
              .map(n => [n.textContent.trim().slice(0, 30), n.getBoundingClientRect()])
              .filter(([, r]) => r.height < 44 || r.width < 44)
              .map(([t, r]) => t + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))"""
        )
    )


# 640 x 400 is a 1280 x 800 screen at 200 % zoom
@pytest.mark.parametrize(("width", "height"), [(360, 740), (640, 400)])
def test_usable_on_a_phone_and_at_200_percent_zoom(
    base_url: str, browser: Browser, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(base_url + "/")
    _ask(page, QUESTION)
    expect(page.locator(".log li.answer")).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of sideways scrolling at {width}px"
    assert _targets_too_small(page) == []
    expect(page.locator("#disclaimer")).to_be_in_viewport()
    # the dock that keeps the box and disclaimer on screen leaves most of it to the answer
    dock = page.evaluate("document.querySelector('.dock').getBoundingClientRect().height")
    assert dock <= 0.45 * height, f"the dock takes {dock:.0f} of {height} px"
    context.close()


def _serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} nodes — {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def axe_page(browser: Browser) -> Iterator[Page]:
    """A page that may inject axe-core despite the strict Content-Security-Policy."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs axe-core from npm")
    context = browser.new_context(viewport=WIDTHS["desktop"], bypass_csp=True)
    yield context.new_page()
    context.close()


def test_no_serious_accessibility_violations(base_url: str, axe_page: Page) -> None:
    page = axe_page
    found: dict[str, list[str]] = {}
    page.goto(base_url + "/")
    _ask(page, QUESTION)  # scan a page with an answer on it: quotes, sources, chips, votes
    expect(page.locator(".log li.answer")).to_have_count(1)
    page.get_by_role("button", name="Show context").first.click()
    found["/"] = _serious_violations(page)
    page.goto(base_url + "/embed?greeting=Hello")
    _ask(page, QUESTION)
    expect(page.locator(".log li.answer")).to_have_count(1)
    found["/embed"] = _serious_violations(page)
    page.goto(base_url + "/staff")
    found["/staff login"] = _serious_violations(page)
    page.fill("#token", TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.fill("#q", "eligibility")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#hits > li").first).to_be_visible()
    found["/staff"] = _serious_violations(page)
    page.goto(base_url + "/widget-demo")
    page.get_by_role("button", name="Ask about MS and stem cells").click()
    found["/widget-demo"] = _serious_violations(page)
    assert {url: v for url, v in found.items() if v} == {}
