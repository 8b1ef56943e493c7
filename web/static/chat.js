// The chat page: plain JavaScript, no build step. Every piece of text from the server or the
// user is put on the page with textContent, never as HTML.
"use strict";

(function () {
  const log = document.getElementById("log");
  const alerts = document.getElementById("alerts");
  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const history = []; // page memory only: gone when the tab closes
  let turn = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
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

  function addUser(text) {
    const item = el("li", "user");
    item.append(el("p", "who", "You asked"), el("p", "", text));
    log.append(item);
  }

  // The formatted citation already holds title, publisher, date and what the source reports
  // on; a link is added when the source has one.
  function sourceCard(quote, id) {
    const src = quote.source;
    const item = el("li");
    item.id = id;
    item.tabIndex = -1;
    item.append(el("span", "citation", src.citation));
    const url = src.url ? safeUrl(src.url) : null;
    if (url) {
      const link = el("a", "", "Open the source");
      link.href = url;
      link.rel = "noopener noreferrer";
      item.append(document.createTextNode(" "), link);
    }
    return item;
  }

  function addQuotes(item, quotes, prefix) {
    const list = el("ol");
    quotes.forEach(function (quote, i) {
      const number = i + 1;
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
      list.append(sourceCard(quote, id));
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
      const chip = el("button", "", text);
      chip.type = "button";
      chip.addEventListener("click", function () { ask(text); });
      chips.append(chip);
    });
    item.append(chips);
  }

  // An emergency is shown above everything, as an alert a screen reader announces at once.
  function addAlert(reply) {
    const box = el("div", "alert");
    box.setAttribute("role", "alert");
    box.tabIndex = -1;
    box.append(el("p", "alert-title", "Please get help now"), el("p", "", reply.text));
    alerts.prepend(box);
    box.scrollIntoView({ block: "start" });
  }

  function addReply(reply) {
    turn += 1;
    const item = el("li", "bot " + reply.kind);
    if (reply.kind === "emergency") addAlert(reply);
    item.append(el("p", "who", "Answer"), el("p", "", reply.text));
    if (reply.quotes.length) addQuotes(item, reply.quotes, "turn" + turn);
    addChips(item, reply.suggestions);
    log.append(item);
    // the answer's first line, not hidden by the dock; an emergency keeps the alert in view
    if (reply.kind !== "emergency") item.scrollIntoView({ block: "start" });
    const said = reply.quotes.length ? reply.text + " " + reply.quotes[0].text : reply.text;
    history.push({ role: "bot", text: said.slice(0, 4000) });
  }

  function addError(message, question) {
    const item = el("li", "bot error");
    item.append(el("p", "who", "Something went wrong"), el("p", "", message));
    const retry = el("button", "retry", "Try again");
    retry.type = "button";
    retry.addEventListener("click", function () { item.remove(); send_(question, true); });
    item.append(retry);
    log.append(item);
    retry.focus();
  }

  function busy(on) {
    send.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    status.textContent = on ? "Looking that up in the clinic's sources…" : "";
  }

  async function send_(question, isRetry) {
    if (!isRetry) addUser(question);
    busy(true);
    const body = { message: question, history: history.slice(-20) };
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(function () { return {}; });
      if (!response.ok) throw new Error(data.error || "The server answered " + response.status + ".");
      history.push({ role: "user", text: question });
      addReply(data);
    } catch (err) {
      const offline = err instanceof TypeError;
      addError(offline ? "Could not reach the server. Check your connection." : err.message, question);
    } finally {
      busy(false);
    }
  }

  function ask(text) {
    const question = text.trim();
    if (!question) {
      status.textContent = "Please type a question first.";
      box.focus();
      return;
    }
    box.value = "";
    send_(question, false);
    box.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(box.value);
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(box.value);
    }
  });
})();
