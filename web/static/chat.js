// The chat page and the widget's /embed page: plain JavaScript, no build step. Every piece of
// text from the server or the user is put on the page with textContent, never as HTML.
"use strict";

(function () {
  const log = document.getElementById("log");
  const alerts = document.getElementById("alerts");
  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const announce = document.getElementById("announce");
  const limit = document.getElementById("question-limit");
  const embedded = document.body.classList.contains("embed");
  const history = []; // page memory only: gone when the tab closes, never written to storage
  let turn = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(className, text) {
    const node = el("button", className, text);
    node.type = "button";
    return node;
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  // The live region is emptied first, so that the same words said twice (one failure after
  // another) are announced again; screen readers stay silent when its text does not change.
  let saying = null;
  function say(text) {
    window.clearTimeout(saying); // a newer message replaces one not yet said
    announce.textContent = "";
    if (text) saying = window.setTimeout(function () { announce.textContent = text; }, 100);
  }

  function addUser(text) {
    const item = el("li", "user");
    item.append(el("p", "who", "You asked"), el("p", "", text));
    log.append(item);
  }

  // Title, publisher, date and a link when the source has a link; otherwise the formatted
  // citation, which says all that is known about it (and which study it reports on).
  function sourceCard(quote, id) {
    const src = quote.source;
    const item = el("li");
    item.id = id;
    item.tabIndex = -1;
    const url = src.url ? safeUrl(src.url) : null;
    if (!url) {
      item.append(el("span", "citation", src.citation));
      return item;
    }
    item.append(el("span", "source-title", src.title));
    const facts = [src.publisher, src.published ? "published " + src.published : null];
    const known = facts.filter(Boolean);
    if (known.length) item.append(document.createTextNode(" · " + known.join(", ")));
    const link = el("a", "", "Open the source");
    link.href = url;
    link.rel = "noopener noreferrer";
    if (embedded) link.target = "_blank"; // never navigate the widget's frame away
    item.append(document.createTextNode(" "), link);
    return item;
  }

  // "Show context": the paragraph around the quote (and its neighbours), quote highlighted.
  function contextPanel(quote, id) {
    const ctx = quote.context;
    const panel = el("div", "context");
    panel.id = id;
    panel.hidden = true;
    if (ctx.headings.length) panel.append(el("p", "context-path", ctx.headings.join(" › ")));
    const before = ctx.before.slice(0, -1);
    const after = ctx.after.slice(1);
    before.forEach(function (text) { panel.append(el("p", "", text)); });
    const own = el("p");
    own.append(document.createTextNode(ctx.before[ctx.before.length - 1] || ""));
    own.append(el("mark", "", quote.text));
    own.append(document.createTextNode(ctx.after[0] || ""));
    panel.append(own);
    after.forEach(function (text) { panel.append(el("p", "", text)); });
    return panel;
  }

  function contextToggle(panel) {
    const toggle = button("context-toggle", "Show context");
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", panel.id);
    toggle.addEventListener("click", function () {
      const open = panel.hidden;
      panel.hidden = !open;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? "Hide context" : "Show context";
    });
    return toggle;
  }

  // Quotes from one source share its number and its one entry in the sources list: listed
  // twice, one source would read like two that agree.
  function addQuotes(item, quotes, prefix) {
    const list = el("ol");
    const numbers = new Map(); // source id -> its number in this reply
    quotes.forEach(function (quote, i) {
      if (!numbers.has(quote.source.id)) {
        numbers.set(quote.source.id, numbers.size + 1);
        list.append(sourceCard(quote, prefix + "-src-" + numbers.size));
      }
      const number = numbers.get(quote.source.id);
      const id = prefix + "-src-" + number;
      const block = el("blockquote", "quote");
      block.append(el("p", "", quote.text));
      const cite = el("a", "cite", "[" + number + "]");
      cite.href = "#" + id;
      cite.setAttribute("aria-label", "Source " + number + ": " + quote.source.title);
      cite.addEventListener("click", function () {
        window.setTimeout(function () { document.getElementById(id).focus(); }, 0);
      });
      block.append(cite);
      item.append(block);
      if (quote.context) {
        const panel = contextPanel(quote, prefix + "-ctx-" + (i + 1));
        item.append(contextToggle(panel), panel);
      }
    });
    const sources = el("section", "sources");
    sources.setAttribute("aria-label", "Sources");
    sources.append(el("h3", "", "Sources"), list);
    item.append(sources);
  }

  function addChips(item, suggestions) {
    if (!suggestions || !suggestions.length) return;
    const chips = el("div", "chips");
    chips.setAttribute("role", "group");
    chips.setAttribute("aria-label", "You could also ask");
    suggestions.forEach(function (text) {
      const chip = button("", text);
      chip.addEventListener("click", function () { ask(text); });
      chips.append(chip);
    });
    item.append(chips);
  }

  // Thumbs up/down: one vote per reply; the question goes along, and the server keeps it only
  // when the clinic has switched question logging on.
  function addVotes(item, reply, question) {
    const group = el("div", "votes");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Was this helpful?");
    const said = el("span", "votes-label", "Was this helpful?");
    const thanks = el("span", "votes-thanks");
    thanks.setAttribute("role", "status");
    const choices = [["up", "Yes"], ["down", "No"]].map(function (pair) {
      const choice = button("vote", pair[1]);
      choice.setAttribute("aria-pressed", "false");
      choice.dataset.vote = pair[0];
      return choice;
    });
    choices.forEach(function (choice) {
      choice.addEventListener("click", function () {
        choices.forEach(function (c) { c.disabled = true; });
        choice.setAttribute("aria-pressed", "true");
        vote(choice.dataset.vote, reply, question).then(function (ok) {
          thanks.textContent = ok ? "Thank you for telling us." : "Sorry, your answer could not be saved.";
        });
      });
    });
    group.append(said, choices[0], choices[1], thanks);
    item.append(group);
  }

  async function vote(value, reply, question) {
    const body = {
      vote: value,
      kind: reply.kind,
      passage_ids: reply.quotes.map(function (q) { return q.passage_id; }),
      question: question,
    };
    try {
      const response = await fetch("/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return response.ok;
    } catch (e) {
      return false;
    }
  }

  // The phone numbers in an alert's text (the emergency number, the clinic's phone, the crisis
  // line's number: the server lists them on the alerts element) become links a phone calls
  // with one tap. Plain string search: no pattern features an older phone's browser lacks.
  function withCalls(text) {
    const paragraph = el("p");
    const numbers = (alerts.dataset.call || "").split("|").filter(Boolean);
    numbers.sort(function (a, b) { return b.length - a.length; }); // "999 1234" before "999"
    let at = 0;
    for (let found = nextNumber(text, 0, numbers); found; found = nextNumber(text, at, numbers)) {
      paragraph.append(document.createTextNode(text.slice(at, found.start)));
      const call = el("a", "call", found.number);
      // "+44 (0)20 …" is dialled without the "(0)"; spaces, dashes and brackets go
      call.href = "tel:" + found.number.replace("(0)", "").replace(/[^0-9+]/g, "");
      paragraph.append(call);
      at = found.start + found.number.length;
    }
    paragraph.append(document.createTextNode(text.slice(at)));
    return paragraph;
  }

  // The earliest whole occurrence of any of the numbers at or after `from` ("112" is not
  // inside "0112" or "1120"); at one place, the longest number.
  function nextNumber(text, from, numbers) {
    let best = null;
    numbers.forEach(function (number) {
      let i = text.indexOf(number, from);
      while (i !== -1 && !wholeNumber(text, i, number.length)) i = text.indexOf(number, i + 1);
      if (i !== -1 && (!best || i < best.start)) best = { start: i, number: number };
    });
    return best;
  }

  function wholeNumber(text, start, length) {
    return !/[0-9+]/.test(text.charAt(start - 1)) && !/[0-9]/.test(text.charAt(start + length));
  }

  // An emergency is shown above everything, as an alert a screen reader announces at once.
  function addAlert(reply) {
    const box = el("div", "alert");
    box.setAttribute("role", "alert");
    box.tabIndex = -1;
    box.append(el("p", "alert-title", "Please get help now"), withCalls(reply.text));
    alerts.prepend(box);
    box.scrollIntoView({ block: "start" });
  }

  function addReply(reply, question) {
    turn += 1;
    const item = el("li", "bot " + reply.kind);
    if (reply.kind === "emergency") addAlert(reply);
    item.append(el("p", "who", "Answer"), el("p", "", reply.text));
    if (reply.quotes.length) addQuotes(item, reply.quotes, "turn" + turn);
    if (reply.kind === "answer" || reply.kind === "no_answer") addVotes(item, reply, question);
    addChips(item, reply.suggestions);
    log.append(item);
    // the answer's first line, not hidden by the dock; an emergency keeps the alert in view
    if (reply.kind !== "emergency") item.scrollIntoView({ block: "start" });
    const said = reply.quotes.length ? reply.text + " " + reply.quotes[0].text : reply.text;
    say(reply.kind === "emergency" ? "" : said); // the alert announces itself
    history.push({ role: "bot", text: said.slice(0, 4000) });
  }

  function addError(message, question) {
    const item = el("li", "bot error");
    item.append(el("p", "who", "Something went wrong"), el("p", "", message));
    const retry = button("retry", "Try again");
    retry.addEventListener("click", function () {
      if (waiting) return;
      // the button goes with its error: the question box takes the focus it held
      if (document.activeElement === retry) box.focus({ preventScroll: true });
      item.remove();
      send_(question, true);
    });
    item.append(retry);
    log.append(item);
    say(message);
    // the retry takes the focus, unless the person is typing their next question (Enter would
    // then send the old one again) or is on the clinic's page around the widget's frame
    if (document.hasFocus() && !box.value.trim()) retry.focus();
  }

  let thinking = null;
  let waiting = false; // one question at a time
  const ANSWER_MS = 30000;
  function busy(on) {
    waiting = on;
    send.disabled = on;
    log.querySelectorAll(".chips button, .retry").forEach(function (b) {
      b.setAttribute("aria-disabled", on ? "true" : "false"); // a tap now is not sent
    });
    log.setAttribute("aria-busy", on ? "true" : "false");
    status.textContent = on ? "Looking that up in the clinic's sources…" : "";
    if (on && !thinking) {
      thinking = el("li", "bot thinking");
      thinking.setAttribute("aria-hidden", "true"); // the status line says it for screen readers
      thinking.append(el("span", "dot"), el("span", "dot"), el("span", "dot"));
      log.append(thinking);
    } else if (!on && thinking) {
      thinking.remove();
      thinking = null;
    }
  }

  async function send_(question, isRetry) {
    if (!isRetry) addUser(question);
    busy(true);
    const body = { message: question, history: history.slice(-20) };
    let data = null;
    let problem = null;
    // a stalled connection must not leave the page waiting (and refusing new questions,
    // an emergency among them) until the phone gives up on it, minutes later
    const stop = new AbortController();
    const timer = window.setTimeout(function () { stop.abort(); }, ANSWER_MS);
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: stop.signal,
      });
      data = await response.json().catch(function () { return {}; });
      if (!response.ok) problem = data.error || "The server answered " + response.status + ".";
    } catch (err) {
      problem = stop.signal.aborted
        ? "The server is taking too long to answer. Please try again."
        : "Could not reach the server. Check your connection.";
    } finally {
      window.clearTimeout(timer);
    }
    busy(false);
    if (problem) {
      addError(problem, question);
      return;
    }
    history.push({ role: "user", text: question });
    addReply(data, question);
  }

  // A second tap on a suggestion (a tremor, an impatient double click) or Enter pressed before
  // the answer came is not sent again: what was typed stays in the box for after the answer.
  function ask(text) {
    if (waiting) return;
    const question = text.trim();
    if (!question) {
      status.textContent = "Please type a question first.";
      box.focus();
      return;
    }
    box.value = "";
    limit.textContent = "";
    send_(question, false);
    box.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(box.value);
  });
  // The box holds 1000 characters: past that, typing stops and a paste is cut, so say so.
  // Said next to the box (in the dock, always on screen), not in the status line above.
  box.addEventListener("input", function () {
    const full = box.value.length >= box.maxLength;
    const text = full ? "That is as long as a question can be (" + box.maxLength +
      " characters): anything more was left out." : "";
    if (limit.textContent !== text) limit.textContent = text;
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(box.value);
    }
  });

  // In the widget's frame: the host page's widget asks for focus when it opens the chat, and
  // Escape asks it to close. The messages carry no data, so any origin may receive them.
  if (embedded && window.parent !== window) {
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent || !event.data) return;
      if (event.data.faqbot === "focus") box.focus();
      // Shift+Tab coming round from the panel's Close button: the last control, as in a page
      if (event.data.faqbot === "focus-last") (send.disabled ? box : send).focus();
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") window.parent.postMessage({ faqbot: "close" }, "*");
    });
  }
})();
