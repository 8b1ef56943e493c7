// The clinic widget. A clinic adds one tag to its own site:
//   <script src="https://bot.example/widget.js" async data-title="…" data-colour="#0b4f8a"
//           data-position="right" data-greeting="…"></script>
// It draws a launcher button that opens the chat (/embed on the bot's server) in an iframe.
// No cookies, no storage, no request to anyone but the bot's own server. Closing only hides the
// chat, so the conversation stays for as long as the page is open.
"use strict";

(function () {
  if (window.faqbotWidget) return; // the tag was added twice: one launcher is enough
  const script = document.currentScript;
  if (!script || !script.src) return;
  const botOrigin = new URL(script.src).origin;
  const data = script.dataset;
  const title = (data.title || "Questions about MS and stem-cell therapy").slice(0, 80);
  const colour = /^#([0-9a-f]{3}){1,2}$/i.test(data.colour || "") ? data.colour : "#0b4f8a";
  const side = data.position === "left" ? "left" : "right";
  const greeting = (data.greeting || "").slice(0, 300);
  const ids = { panel: "faqbot-widget-panel", launcher: "faqbot-widget-launcher" };

  // Text on the launcher is black or white, whichever contrasts more with the clinic's colour.
  function inkFor(hex) {
    const full = hex.length === 4 ? "#" + hex[1] + hex[1] + hex[2] + hex[2] + hex[3] + hex[3] : hex;
    const channel = function (i) {
      const c = parseInt(full.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    const light = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    return (light + 0.05) / 0.05 > 1.05 / (light + 0.05) ? "#000000" : "#ffffff";
  }

  function styled(tag, styles) {
    const node = document.createElement(tag);
    Object.keys(styles).forEach(function (key) { node.style[key] = styles[key]; });
    return node;
  }

  const ink = inkFor(colour);
  const font = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  const launcher = styled("button", {
    position: "fixed", bottom: "20px", zIndex: "2147483000", minHeight: "48px", minWidth: "48px",
    padding: "12px 20px", border: "2px solid " + ink, borderRadius: "24px", background: colour,
    color: ink, font: "600 17px/1.2 " + font, cursor: "pointer",
    boxShadow: "0 2px 8px rgba(0,0,0,0.35)",
  });
  launcher.style[side] = "20px";
  launcher.type = "button";
  launcher.id = ids.launcher;
  launcher.textContent = title;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", ids.panel);

  let panel = null;
  let frame = null;
  let edges = [];

  function narrow() {
    return window.innerWidth < 480;
  }

  function place() {
    const small = narrow();
    Object.assign(panel.style, {
      width: small ? "100vw" : "min(420px, calc(100vw - 24px))",
      height: small ? "100%" : "min(680px, calc(100vh - 100px))",
      bottom: small ? "0" : "84px",
      borderRadius: small ? "0" : "12px",
    });
    panel.style[side] = small ? "0" : "20px";
    // covering the page, the panel is modal: Tab goes round inside it, not into the page
    // hidden behind it; floating beside the page, it is not, and the edges are no tab stops
    panel.setAttribute("aria-modal", small ? "true" : "false");
    edges.forEach(function (node) { node.tabIndex = small ? 0 : -1; });
    // turned from wide to narrow while focus was out in the page: it would stay there, unseen
    if (small && isOpen() && !panel.contains(document.activeElement)) {
      frame.focus();
      focusChat();
    }
  }

  // A tab stop at either end of the panel that sends focus round to the other end.
  function edge(onFocus) {
    const node = styled("span", { position: "absolute", width: "1px", height: "1px", overflow: "hidden" });
    node.addEventListener("focus", onFocus);
    return node;
  }

  function build() {
    panel = styled("div", {
      position: "fixed", zIndex: "2147483001", display: "none", flexDirection: "column",
      background: "#ffffff", border: "2px solid " + colour, overflow: "hidden",
      boxShadow: "0 4px 24px rgba(0,0,0,0.35)",
    });
    panel.id = ids.panel;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);
    const bar = styled("div", {
      display: "flex", alignItems: "center", justifyContent: "space-between", gap: "8px",
      padding: "4px 4px 4px 12px", background: colour, color: ink, font: "600 17px/1.3 " + font,
    });
    const heading = document.createElement("span");
    heading.textContent = title;
    const close = styled("button", {
      minWidth: "44px", minHeight: "44px", border: "2px solid " + ink, borderRadius: "8px",
      background: "transparent", color: ink, font: "600 16px/1 " + font, cursor: "pointer",
    });
    close.type = "button";
    close.textContent = "Close";
    close.setAttribute("aria-label", "Close the chat");
    close.addEventListener("click", hide);
    bar.append(heading, close);
    const query = new URLSearchParams({ title: title });
    if (greeting) query.set("greeting", greeting);
    frame = styled("iframe", { flex: "1", width: "100%", border: "0" });
    frame.title = title;
    frame.src = botOrigin + "/embed?" + query.toString();
    frame.setAttribute("referrerpolicy", "no-referrer");
    // Shift+Tab from Close goes round to the chat's last control; Tab past the chat, to Close
    edges = [edge(function () { frame.focus(); focusChat("focus-last"); }), edge(function () { close.focus(); })];
    panel.append(edges[0], bar, frame, edges[1]);
    document.body.append(panel);
    window.addEventListener("resize", place);
  }

  function show() {
    if (!panel) build();
    place();
    panel.style.display = "flex";
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
    // ask the chat to put the cursor in its question box (it may still be loading)
    frame.addEventListener("load", focusChat, { once: true });
    focusChat();
  }

  function focusChat(where) {
    const message = { faqbot: typeof where === "string" ? where : "focus" };
    if (frame.contentWindow) frame.contentWindow.postMessage(message, botOrigin);
  }

  function hide() {
    if (!panel) return;
    panel.style.display = "none";
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function isOpen() {
    return panel && panel.style.display !== "none";
  }

  launcher.addEventListener("click", function () { (isOpen() ? hide : show)(); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) hide();
  });
  // Escape pressed inside the chat arrives as a message; only our own frame may send it.
  window.addEventListener("message", function (event) {
    const ours = frame && event.source === frame.contentWindow && event.origin === botOrigin;
    if (ours && event.data && event.data.faqbot === "close") hide();
  });

  function mount() {
    document.body.append(launcher);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
  window.faqbotWidget = { open: show, close: hide };
})();
