// The staff lookup page: search every passage, copy an answer with its citation, and see what
// the patient bot would say. Text goes on the page with textContent only.
"use strict";

(function () {
  const form = document.getElementById("search");
  const input = document.getElementById("q");
  const status = document.getElementById("search-status");
  const results = document.getElementById("results");
  const hits = document.getElementById("hits");
  const patient = document.getElementById("patient");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function citedAnswer(hit) {
    return "\u201c" + hit.answer + "\u201d " + hit.source.citation;
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied the answer with its citation.";
    } catch (e) {
      // no clipboard permission: show the text selected, ready for Ctrl+C
      const area = el("textarea", "copy-fallback");
      area.value = text;
      area.setAttribute("aria-label", "Answer with citation, selected: press Ctrl+C to copy");
      button.after(area);
      area.select();
      area.focus();
      status.textContent = "Press Ctrl+C to copy the selected text.";
    }
  }

  function showHit(hit) {
    const item = el("li", "hit");
    const head = el("p", "hit-head");
    head.append(el("span", "source-title", hit.source.title));
    if (hit.headings.length) head.append(document.createTextNode(" › " + hit.headings.join(" › ")));
    head.append(el("span", "score", "score " + hit.score.toFixed(3)));
    if (hit.audience === "staff") head.append(el("span", "badge", "staff only"));
    const text = el("p", "hit-text");
    hit.segments.forEach(function (piece) {
      text.append(piece.match ? el("mark", "", piece.text) : document.createTextNode(piece.text));
    });
    const answer = el("blockquote", "quote");
    answer.append(el("p", "", hit.answer));
    const button = el("button", "copy", "Copy answer with citation");
    button.type = "button";
    button.addEventListener("click", function () { copy(citedAnswer(hit), button); });
    item.append(head, text, el("p", "who", "Quotable answer"), answer, button);
    hits.append(item);
  }

  function showPatientReply(reply) {
    patient.replaceChildren(el("p", "who", "Reply kind: " + reply.kind), el("p", "", reply.text));
    reply.quotes.forEach(function (quote) {
      const block = el("blockquote", "quote");
      block.append(el("p", "", quote.text), el("p", "citation", quote.source.citation));
      patient.append(block);
    });
  }

  async function search(query) {
    status.textContent = "Searching…";
    const url = "/api/search?" + new URLSearchParams({ q: query, k: "10" }).toString();
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.status === 401) {
        window.location.reload(); // the session ended: back to the sign-in form
        return;
      }
      const data = await response.json().catch(function () { return {}; });
      if (!response.ok) throw new Error(data.error || "The server answered " + response.status + ".");
      hits.replaceChildren();
      data.results.forEach(showHit);
      showPatientReply(data.patient_reply);
      results.hidden = false;
      status.textContent = data.results.length + " passages found.";
    } catch (err) {
      status.textContent = err instanceof TypeError ? "Could not reach the server." : err.message;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const query = input.value.trim();
    if (!query) {
      status.textContent = "Please type something to search for.";
      input.focus();
      return;
    }
    search(query);
  });
})();
