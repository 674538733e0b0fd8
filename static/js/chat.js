// M1 Playground chat client: the chat websocket, streamed rendering, keyboard and UI glue.
// Protocol (README "Websocket protocol"): snapshot / delta / final / messages / ready frames,
// each streamed message numbered by seq; a gap triggers a resync from the server.
(function () {
  "use strict";

  const chat = document.getElementById("chat");
  // A chat has one message list; a comparison has one per column (each .messages element).
  const messagesEl = document.getElementById("messages");
  const input = document.getElementById("message-input");
  const conn = document.getElementById("conn");
  const streams = new Map(); // message id -> stream state
  let socket = null;
  let retryDelay = 500;
  let closedForGood = false;

  // ---- theme, sidebar, drawer, confirmations ------------------------------------------------
  function applyThemeMedia() {
    const theme = document.documentElement.dataset.theme;
    const light = document.getElementById("hljs-light");
    const dark = document.getElementById("hljs-dark");
    if (!light || !dark) return;
    light.media = theme === "dark" ? "not all" : theme === "light" ? "all" : "(prefers-color-scheme: light)";
    dark.media = theme === "dark" ? "all" : theme === "light" ? "not all" : "(prefers-color-scheme: dark)";
  }
  applyThemeMedia();

  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-theme-toggle],[data-open-sidebar],[data-close-sidebar],[data-open-drawer],[data-close-drawer],[data-copy-answer],[data-system-prompt],[data-add-column],[data-remove-column],.copy-code");
    if (!target) return;
    if (target.matches("[data-theme-toggle]")) {
      const dark = document.documentElement.dataset.theme
        ? document.documentElement.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      document.documentElement.dataset.theme = dark ? "light" : "dark";
      try { localStorage.setItem("theme", document.documentElement.dataset.theme); } catch (e) { /* ignore */ }
      applyThemeMedia();
    } else if (target.matches("[data-open-sidebar]")) {
      document.body.classList.add("sidebar-open");
      document.querySelector(".scrim")?.removeAttribute("hidden");
    } else if (target.matches("[data-close-sidebar]")) {
      document.body.classList.remove("sidebar-open");
      document.querySelector(".scrim")?.setAttribute("hidden", "");
    } else if (target.matches("[data-open-drawer]")) {
      openDrawer(target);
    } else if (target.matches("[data-close-drawer]")) {
      closeDrawer();
    } else if (target.matches("[data-system-prompt]")) {
      const box = target.closest("[data-prompt-scope], form")?.querySelector("textarea[name$=system_prompt]");
      if (box) { box.value = target.dataset.systemPrompt; box.focus(); }
    } else if (target.matches("[data-add-column]")) {
      const card = document.querySelector("[data-column-card][hidden]");
      if (card) {
        card.hidden = false;
        card.querySelector("[data-included]").value = "1";
        card.querySelector("select")?.focus();
      }
      syncColumnButtons();
    } else if (target.matches("[data-remove-column]")) {
      const card = target.closest("[data-column-card]");
      card.hidden = true;
      card.querySelector("[data-included]").value = "";
      syncColumnButtons();
      document.querySelector("[data-add-column]")?.focus();
    } else if (target.matches("[data-copy-answer]")) {
      // The markdown as the model wrote it (maths as LaTeX), not the rendered page.
      const message = target.closest(".msg");
      const source = message?.querySelector("template[data-answer-source]");
      copyText(target, source ? source.content.textContent : message?.querySelector(".answer")?.innerText || "");
    } else if (target.matches(".copy-code")) {
      copyText(target, target.parentElement.querySelector("code")?.innerText || "");
    }
  });

  document.addEventListener("submit", function (event) {
    const message = (event.submitter && event.submitter.dataset.confirmButton) ||
      (event.target.dataset && event.target.dataset.confirm);
    if (message && !window.confirm(message)) event.preventDefault();
  });

  function syncColumnButtons() {
    const add = document.querySelector("[data-add-column]");
    if (add) add.hidden = !document.querySelector("[data-column-card][hidden]");
  }
  syncColumnButtons();

  function copyText(button, text) {
    const shown = button.querySelector("[data-label]") || button;
    const done = function () {
      if (button.dataset.copied) return;
      const label = shown.textContent;
      const name = button.getAttribute("aria-label");
      button.dataset.copied = "1";
      shown.textContent = "Copied";
      if (name) button.setAttribute("aria-label", "Copied");
      setTimeout(function () {
        shown.textContent = label;
        if (name) button.setAttribute("aria-label", name);
        delete button.dataset.copied;
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { copyByCommand(text) && done(); });
    } else if (copyByCommand(text)) {
      done();
    }
  }

  // Where the asynchronous clipboard is not offered (a plain-http host that is not localhost).
  function copyByCommand(text) {
    const box = document.createElement("textarea");
    box.value = text;
    box.setAttribute("readonly", "");
    box.className = "visually-hidden";
    document.body.appendChild(box);
    box.select();
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    box.remove();
    return copied;
  }

  // ---- settings drawer: Esc closes it, and focus goes back to the button that opened it -------
  let drawerOpener = null;

  function openDrawer(button) {
    const drawer = document.getElementById("drawer");
    if (!drawer) return;
    drawerOpener = button;
    drawer.hidden = false;
    document.querySelectorAll("[data-open-drawer]").forEach(function (b) { b.setAttribute("aria-expanded", "true"); });
    drawer.querySelector("input,button")?.focus();
  }

  function closeDrawer() {
    const drawer = document.getElementById("drawer");
    if (!drawer || drawer.hidden) return;
    const focusWasInside = drawer.contains(document.activeElement);
    drawer.hidden = true;
    document.querySelectorAll("[data-open-drawer]").forEach(function (b) { b.setAttribute("aria-expanded", "false"); });
    const opener = drawerOpener && drawerOpener.isConnected ? drawerOpener : document.querySelector("[data-open-drawer]");
    if (opener && (focusWasInside || drawerOpener)) opener.focus();
    drawerOpener = null;
  }

  function drawerOpen() {
    const drawer = document.getElementById("drawer");
    return Boolean(drawer && !drawer.hidden);
  }

  // ---- copying a selection: formulas as their LaTeX, not as the letters MathML shows ----------
  document.addEventListener("copy", function (event) {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount || !event.clipboardData) return;
    const fragment = selection.getRangeAt(0).cloneContents();
    const formulas = fragment.querySelectorAll("math");
    if (!formulas.length) return;
    formulas.forEach(function (math) {
      const tex = math.querySelector('annotation[encoding="application/x-tex"]');
      if (!tex) return;
      const block = math.getAttribute("display") === "block";
      math.replaceWith(block ? "\n$$" + tex.textContent + "$$\n" : "$" + tex.textContent + "$");
    });
    // innerText needs a rendered element for its line breaks; off-screen is rendered.
    const holder = document.createElement("div");
    holder.className = "visually-hidden";
    holder.appendChild(fragment);
    document.body.appendChild(holder);
    event.clipboardData.setData("text/plain", holder.innerText);
    holder.remove();
    event.preventDefault();
  });

  setTimeout(function () {
    document.querySelectorAll(".toast").forEach(function (t) { t.remove(); });
  }, 6000);

  if (!chat) return;

  // ---- rendering ------------------------------------------------------------------------------
  // Maths: $…$, $$…$$, \(…\) and \[…\] found by the rules playground/chats/rendering.py uses
  // (dollarmath without spaces inside the dollars or a digit around them; \[…\] a block on lines
  // of its own), typeset by temml as MathML, or shown as source in <code> when it does not parse.
  const MATH_CLOSING = { "$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]" };
  const MAX_FORMULA_CHARS = 10000;
  const SPACE = /[\t\n\v\f\r \u2000-\u200a]/;

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function mathHtml(token) {
    const tex = token.text.trim();
    let html = null;
    if (window.temml && tex.length <= MAX_FORMULA_CHARS) {
      try {
        html = window.temml.renderToString(tex, {
          displayMode: token.display, annotate: true, throwOnError: true,
          // temml frames \boxed with a style attribute, which the sanitizer and the CSP drop.
          macros: { "\\boxed": "\\class{tml-fbox}{#1}" },
          trust: function (context) { return context.command === "\\class" && context.class === "tml-fbox"; },
        // temml's own style attributes go before the sanitizer parses the HTML: parsing them
        // is already a CSP violation. (temml escapes quotes in text, so this finds only them.)
        }).replace(/ style="[^"]*"/g, "");
      } catch (e) {
        html = null; // not TeX that temml reads: shown as written
      }
    }
    if (html === null) {
      html = '<code class="math-source">' + escapeHtml(token.opening + tex + MATH_CLOSING[token.opening]) + "</code>";
      if (token.block) html = "<p>" + html + "</p>";
    }
    return token.block ? html + "\n" : html;
  }

  function escapedAt(src, index) { // an odd number of backslashes before src[index]
    let count = 0;
    while (index - count - 1 >= 0 && src[index - count - 1] === "\\") count += 1;
    return count % 2 === 1;
  }

  function inlineDollar(src, tokens) {
    if (src[0] !== "$" || src.length < 2 || SPACE.test(src[1])) return null;
    const previous = tokens.length ? tokens[tokens.length - 1].raw.slice(-1) : "";
    if (/\d/.test(previous)) return null;
    const double = src[1] === "$";
    let from = double ? 2 : 1;
    let end;
    for (;;) {
      end = src.indexOf("$", from);
      if (end === -1) return null;
      if (escapedAt(src, end) || (double && src[end + 1] !== "$")) { from = end + 1; continue; }
      break;
    }
    if (double) end += 1;
    if (SPACE.test(src[end - 1]) || /\d/.test(src[end + 1] || "")) return null;
    const text = double ? src.slice(2, end - 1) : src.slice(1, end);
    if (!text || text.includes("`")) return null; // a code span wins over a formula
    return { raw: src.slice(0, end + 1), text: text, display: double, opening: double ? "$$" : "$" };
  }

  function inlineBackslash(src) {
    const match = /^\\\(([\s\S]+?)\\\)/.exec(src) || /^\\\[([\s\S]+?)\\\]/.exec(src);
    if (!match) return null;
    const opening = match[0].slice(0, 2);
    return { raw: match[0], text: match[1], display: opening === "\\[", opening: opening };
  }

  function blockDollar(src) {
    const lines = src.split("\n");
    const indent = /^ {0,3}\$\$/.exec(lines[0]);
    if (!indent) return null;
    const first = lines[0].slice(indent[0].length - 2);
    const body = [first.slice(2)];
    let last = 0;
    if (first.trim().length > 3 && first.trim().endsWith("$$")) {
      body[0] = first.trimEnd().slice(2, -2);
    } else {
      if (first.trim().length > 3 && first.slice(2).includes("$$")) return null;
      for (last = 1; ; last += 1) {
        if (last >= lines.length || lines[last].trim() === "") return null;
        if (lines[last].trim().endsWith("$$")) {
          body.push(lines[last].trimEnd().slice(0, -2));
          break;
        }
        body.push(lines[last]);
      }
    }
    const raw = lines.slice(0, last + 1).join("\n") + (last + 1 < lines.length ? "\n" : "");
    return { raw: raw, text: body.join("\n"), display: true, opening: "$$", block: true };
  }

  function blockBracket(src) {
    const match = /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n|$)/.exec(src);
    return match ? { raw: match[0], text: match[1], display: true, opening: "\\[", block: true } : null;
  }

  function mathExtension(level, find) {
    return {
      name: "math_" + level, level: level,
      start: level === "inline" ? function (src) {
        const index = src.search(/\$|\\[(\[]/);
        return index === -1 ? undefined : index;
      } : undefined,
      tokenizer: function (src, tokens) {
        const found = find(src, tokens);
        return found ? Object.assign({ type: "math_" + level }, found) : undefined;
      },
      renderer: mathHtml,
    };
  }

  if (window.marked) {
    window.marked.use({
      // Raw HTML the model wrote is text, as on the server (markdown-it with html=False): no
      // block or inline HTML token is made, so its "<" is read as text and escaped.
      tokenizer: { html: function () { return undefined; }, tag: function () { return undefined; } },
      extensions: [
        mathExtension("block", function (src) { return blockDollar(src) || blockBracket(src); }),
        mathExtension("inline", function (src, tokens) { return inlineDollar(src, tokens) || inlineBackslash(src); }),
      ],
    });
  }

  // What may stay of the rendered HTML: the server's allow-list (playground/chats/rendering.py,
  // _TAGS and _ATTRIBUTES; tests/browser/test_live_rendering.py checks that they agree) and its
  // URL schemes (relative links too). Classes as the server allows them (a code block's
  // language, a formula shown as source) and temml's own tml-… on MathML, where the server's
  // latex2mathml uses attributes instead.
  const SANITIZER = {
    "tags": [
      "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code",
      "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
      "img", "span", "sup", "sub",
      "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "msup", "msub", "msubsup",
      "mfrac", "msqrt", "mroot", "mtext", "mspace", "mtable", "mtr", "mtd", "menclose", "mover",
      "munder", "munderover", "mstyle", "mpadded", "mphantom"
    ],
    "attributes": {
      "a": ["href", "title"],
      "img": ["alt", "src", "title"],
      "code": ["class"],
      "ol": ["start"],
      "math": ["display"],
      "annotation": ["encoding"],
      "mi": ["mathvariant"],
      "mo": ["accent", "fence", "form", "largeop", "lspace", "maxsize", "minsize", "movablelimits",
             "rspace", "separator", "stretchy", "symmetric"],
      "mover": ["accent"],
      "munder": ["accentunder"],
      "munderover": ["accent", "accentunder"],
      "mfrac": ["linethickness"],
      "mspace": ["depth", "height", "width"],
      "mtable": ["columnalign", "columnspacing", "displaystyle", "rowalign", "rowspacing"],
      "mtr": ["columnalign", "rowalign"],
      "mtd": ["columnalign", "columnspan", "rowalign", "rowspan"],
      "menclose": ["notation"],
      "mstyle": ["displaystyle", "mathvariant", "scriptlevel"],
      "mpadded": ["depth", "height", "lspace", "voffset", "width"]
    },
    "url_schemes": ["http", "https", "mailto"]
  };
  const MATHML = new Set(SANITIZER.tags.slice(SANITIZER.tags.indexOf("math")));

  function allowedAttribute(tag, name, value) {
    if (name === "class") {
      if (tag === "code") return value === "math-source" || /^language-[A-Za-z_]\w*$/.test(value);
      return MATHML.has(tag) && /^tml-[\w-]+(?: tml-[\w-]+)*$/.test(value);
    }
    if ((SANITIZER.attributes[tag] || []).indexOf(name) === -1) return false;
    if (name === "encoding") return value === "application/x-tex";
    if (name === "href" || name === "src") {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value.replace(/[\u0000-\u0020]/g, ""));
      return !scheme || SANITIZER.url_schemes.indexOf(scheme[1].toLowerCase()) !== -1;
    }
    return true;
  }

  if (window.DOMPurify) {
    window.DOMPurify.addHook("uponSanitizeAttribute", function (node, data) {
      if (!allowedAttribute(node.nodeName.toLowerCase(), data.attrName, data.attrValue)) data.keepAttr = false;
    });
    window.DOMPurify.addHook("afterSanitizeAttributes", function (node) {
      if (node.nodeName === "A" && node.hasAttribute("href")) node.setAttribute("rel", "noopener noreferrer nofollow"); // nh3's link_rel
    });
  }

  const PURIFY_CONFIG = {
    ALLOWED_TAGS: SANITIZER.tags,
    ALLOWED_ATTR: ["class"].concat(...Object.values(SANITIZER.attributes)),
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  };

  function renderMarkdown(text) {
    if (!window.marked || !window.DOMPurify) return null;
    const html = window.marked.parse(text, { gfm: true, breaks: false, async: false });
    return window.DOMPurify.sanitize(html, PURIFY_CONFIG);
  }

  function decorateCode(root) {
    root.querySelectorAll("pre > code").forEach(function (code) {
      if (window.hljs && !code.dataset.highlighted) {
        try { window.hljs.highlightElement(code); } catch (e) { /* unknown language */ }
      }
      const pre = code.parentElement;
      if (!pre.querySelector(".copy-code")) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "copy-code";
        button.textContent = "Copy";
        button.setAttribute("aria-label", "Copy code");
        pre.appendChild(button);
      }
    });
  }

  function formatSeconds(ms) { return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s"; }
  function formatInt(n) { return Number(n || 0).toLocaleString("en-US"); }

  function streamFor(id) {
    let state = streams.get(id);
    if (!state) {
      state = { seq: 0, reasoning: "", content: "", reasoningTokens: 0, contentTokens: 0,
                startedAt: Date.now(), firstTokenAt: null, thinkingEndedAt: null,
                resyncing: false, scheduled: false, userToggled: false };
      streams.set(id, state);
    }
    return state;
  }

  function elementFor(id) { return document.getElementById("message-" + id); }

  function scheduleRender(id) {
    const state = streamFor(id);
    if (state.scheduled) return;
    state.scheduled = true;
    requestAnimationFrame(function () { state.scheduled = false; renderStream(id); });
  }

  function scrollerOf(el) { return el.closest(".messages") || messagesEl; }

  function distanceToBottom(scroller) {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
  }

  // ---- following the stream -------------------------------------------------------------------
  // A list follows a streaming answer down until the reader scrolls up; from then on it stays
  // where they are, and the "↓" button (chat page) takes them down and follows again.
  const unfollowed = new WeakSet();
  const lastScrollTop = new WeakMap();
  const jumpButton = document.getElementById("jump-latest");

  function following(scroller) { return !unfollowed.has(scroller); }

  function toBottom(scroller) {
    unfollowed.delete(scroller);
    scroller.scrollTop = scroller.scrollHeight;
    lastScrollTop.set(scroller, scroller.scrollTop);
    syncJumpButton();
  }

  function syncJumpButton() {
    if (!jumpButton || !messagesEl) return;
    const away = distanceToBottom(messagesEl) > (following(messagesEl) ? 120 : 2);
    if (jumpButton.hidden === away) jumpButton.hidden = !away;
  }

  document.querySelectorAll(".messages").forEach(function (scroller) {
    lastScrollTop.set(scroller, scroller.scrollTop);
    scroller.addEventListener("scroll", function () {
      const before = lastScrollTop.get(scroller) || 0;
      if (distanceToBottom(scroller) <= 2) unfollowed.delete(scroller); // back at the end
      else if (scroller.scrollTop < before - 1) unfollowed.add(scroller); // the reader went up
      lastScrollTop.set(scroller, scroller.scrollTop);
      if (scroller === messagesEl) syncJumpButton();
    }, { passive: true });
  });

  if (jumpButton) {
    jumpButton.addEventListener("click", function () {
      toBottom(messagesEl);
      // The button hides itself now: leave the focus where typing goes next.
      document.getElementById("message-input")?.focus({ preventScroll: true });
    });
    window.addEventListener("resize", syncJumpButton);
  }

  function renderStream(id) {
    const el = elementFor(id);
    const state = streams.get(id);
    if (!el || !state || el.dataset.status !== "streaming") return;
    const scroller = scrollerOf(el);
    const stick = following(scroller);
    const details = el.querySelector(".thinking");
    const body = el.querySelector(".thinking-body");
    if (state.reasoning) {
      details.hidden = false;
      body.textContent = state.reasoning;
      if (details.open && !state.content) body.scrollTop = body.scrollHeight;
    }
    if (state.content) {
      if (details.open && !state.userToggled) details.open = false;
      const answer = el.querySelector(".answer");
      const html = renderMarkdown(state.content);
      if (html === null) answer.textContent = state.content; else answer.innerHTML = html;
      decorateCode(answer);
    }
    updateLabel(el, state);
    if (stick) toBottom(scroller);
    else if (scroller === messagesEl) syncJumpButton();
  }

  function updateLabel(el, state) {
    const label = el.querySelector(".thinking-label");
    if (!label) return;
    const start = state.firstTokenAt || state.startedAt;
    if (!state.thinkingEndedAt && !state.content) {
      const waited = state.firstTokenAt ? "" : " (waiting for the first token)";
      label.textContent = "Thinking… " + formatSeconds(Date.now() - start) +
        (state.reasoningTokens ? " · " + formatInt(state.reasoningTokens) + " tokens" : "") + waited;
    } else {
      const end = state.thinkingEndedAt || Date.now();
      label.textContent = "Thought for " + formatSeconds(Math.max(0, end - start)) +
        " · " + formatInt(state.reasoningTokens) + " tokens";
    }
  }

  setInterval(function () {
    streams.forEach(function (state, id) {
      const el = elementFor(id);
      if (el && el.dataset.status === "streaming") updateLabel(el, state);
    });
  }, 200);

  function time(value) { return value ? Date.parse(value) : null; }

  // ---- frames ---------------------------------------------------------------------------------
  function onSnapshot(frame) {
    const state = streamFor(frame.message_id);
    state.seq = frame.seq;
    state.reasoning = frame.reasoning || "";
    state.content = frame.content || "";
    state.startedAt = time(frame.started_at) || state.startedAt;
    state.firstTokenAt = time(frame.first_token_at);
    state.thinkingEndedAt = time(frame.thinking_ended_at);
    state.reasoningTokens = state.reasoningTokens || Math.round(state.reasoning.length / 4.4);
    state.resyncing = false;
    scheduleRender(frame.message_id);
    syncComposer();
  }

  function onDelta(frame) {
    const state = streamFor(frame.message_id);
    if (state.resyncing || frame.seq <= state.seq) return; // already applied, or repair pending
    if (frame.seq !== state.seq + 1) { // a frame was lost on the way: ask for the whole text
      state.resyncing = true;
      send({ type: "resync", message_id: frame.message_id });
      return;
    }
    state.seq = frame.seq;
    state.reasoning += frame.reasoning;
    state.content += frame.content;
    state.reasoningTokens = frame.reasoning_tokens;
    state.contentTokens = frame.content_tokens;
    state.firstTokenAt = time(frame.first_token_at) || state.firstTokenAt;
    state.thinkingEndedAt = time(frame.thinking_ended_at) || state.thinkingEndedAt;
    scheduleRender(frame.message_id);
  }

  function onFinal(frame) {
    const el = elementFor(frame.message_id);
    const state = streams.get(frame.message_id);
    const wasOpen = el && el.querySelector(".thinking")?.open && state && state.userToggled;
    streams.delete(frame.message_id);
    if (!el) return;
    const scroller = scrollerOf(el);
    const stick = following(scroller);
    el.outerHTML = frame.html;
    const fresh = elementFor(frame.message_id);
    if (fresh) {
      if (wasOpen) fresh.querySelector(".thinking").open = true;
      decorateCode(fresh);
      if (window.htmx) window.htmx.process(fresh);
    }
    if (stick) toBottom(scroller);
    else if (scroller === messagesEl) syncJumpButton();
    syncComposer();
    // The answer's cost and the provider's count change what the next request holds.
    const meter = document.getElementById("context-meter");
    if (meter && window.htmx) window.htmx.trigger(meter, "refresh");
  }

  function onMessages(frame) {
    const list = document.querySelector('.messages[data-chat-id="' + CSS.escape(String(frame.chat_id || "")) + '"]') || messagesEl;
    if (!list) return;
    const holder = document.createElement("div");
    holder.innerHTML = frame.html;
    Array.from(holder.children).forEach(function (child) {
      if (!document.getElementById(child.id)) {
        list.appendChild(child);
        if (window.htmx) window.htmx.process(child);
      }
    });
    document.getElementById("empty-state")?.remove();
    toBottom(list);
    watchStreaming();
  }

  function onReady(frame) {
    window.dispatchEvent(new CustomEvent("playground:ready")); // documents.js catches up too
    // Messages this page shows as streaming that the server says have ended: fetch their end.
    document.querySelectorAll('.msg[data-status="streaming"]').forEach(function (el) {
      const id = Number(el.dataset.messageId);
      if (frame.streaming_ids.indexOf(id) === -1) send({ type: "resync", message_id: id });
    });
    syncComposer();
  }

  function onDocument(frame) { // documents.js shows a document's reading progress
    window.dispatchEvent(new CustomEvent("playground:document", { detail: frame }));
  }

  const handlers = { snapshot: onSnapshot, delta: onDelta, final: onFinal, messages: onMessages,
                     document: onDocument, ready: onReady, pong: function () {},
                     error: function (f) { console.warn(f.message); } };

  // ---- the socket -----------------------------------------------------------------------------
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function showConnection(text) {
    if (!conn) return;
    conn.hidden = !text;
    conn.textContent = text || "";
  }

  function connect() {
    if (!chat.dataset.wsPath) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + chat.dataset.wsPath);
    socket.addEventListener("open", function () { retryDelay = 500; showConnection(""); });
    socket.addEventListener("message", function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      const handler = frame && handlers[frame.type];
      if (handler) handler(frame);
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4401) {  // this session ended: logged out, or the password changed
        showConnection("You have been signed out. Reload the page to sign in again.");
        return;
      }
      if (event.code === 4404 || closedForGood) {
        showConnection(event.code === 4404 ? "This page is no longer available." : "");
        return;
      }
      showConnection("Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 5000);
    });
  }
  window.addEventListener("beforeunload", function () { closedForGood = true; });

  // ---- composer ---------------------------------------------------------------------------------
  function streamingElement() {
    return document.querySelector('.msg-assistant[data-status="streaming"]');
  }

  function syncComposer() {
    const busy = Boolean(streamingElement());
    const stop = document.getElementById("stop-button");
    const sendButton = document.getElementById("send-button");
    if (stop) stop.hidden = !busy;
    if (sendButton) sendButton.hidden = busy;
    document.querySelectorAll(".messages").forEach(function (list) {
      list.setAttribute("aria-busy", list.querySelector('.msg-assistant[data-status="streaming"]') ? "true" : "false");
    });
  }

  function watchStreaming() {
    document.querySelectorAll('.msg-assistant[data-status="streaming"]').forEach(function (el) {
      const state = streamFor(Number(el.dataset.messageId));
      const details = el.querySelector(".thinking");
      if (details && !details.dataset.watched) {
        details.dataset.watched = "1";
        details.querySelector("summary").addEventListener("click", function () { state.userToggled = true; });
      }
    });
    syncComposer();
  }

  function stopStreaming() { // every streaming answer: a chat has one, a comparison one a column
    const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    document.querySelectorAll('.msg-assistant[data-status="streaming"]').forEach(function (el) {
      fetch(el.dataset.stopUrl, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" });
    });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#stop-button")) stopStreaming();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drawerOpen()) {
      event.preventDefault();
      closeDrawer(); // before stopping an answer: Esc leaves the innermost thing first
    } else if (event.key === "Escape" && streamingElement()) {
      event.preventDefault();
      stopStreaming();
    } else if (event.target === document.getElementById("message-input") && event.key === "Enter"
               && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const form = document.getElementById("composer");
      if (!document.getElementById("send-button").hidden) form.requestSubmit();
    } else if (event.key.toLowerCase() === "o" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      location.href = "/chat/new";
    }
  });

  function autosize() {
    const box = document.getElementById("message-input");
    if (!box) return;
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 240) + "px";
  }
  document.addEventListener("input", function (event) {
    if (event.target.id === "message-input") autosize();
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // The websocket may have announced the new messages before this response arrived: keep
    // only the ones the page does not show yet, so no element appears twice. (A chat's send
    // answers with its messages; a comparison's with one out-of-band block per column.)
    if (event.detail.xhr.status === 200 && event.detail.requestConfig?.elt?.id === "composer") {
      const holder = document.createElement("template");
      holder.innerHTML = event.detail.serverResponse;
      holder.content.querySelectorAll(".msg[id]").forEach(function (child) {
        if (document.getElementById(child.id)) child.remove();
      });
      event.detail.serverResponse = holder.innerHTML;
    }
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt.id === "composer" && event.detail.successful && event.detail.xhr.status === 200) {
      const box = document.getElementById("message-input");
      box.value = "";
      autosize();
      document.getElementById("composer-error")?.remove();
      document.getElementById("empty-state")?.remove();
      document.querySelectorAll(".messages").forEach(toBottom);
      watchStreaming();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "composer" || event.detail.elt.id === "composer") {
      document.getElementById("message-input")?.focus();
    }
  });
  // ---- refusals of requests that swap nothing --------------------------------------------------
  // Retry and the model picker post with hx-swap="none": the server's reason for a refusal (a
  // 4xx with a plain-text body) would go nowhere, so it is shown near the composer and the page
  // stays as it was (the picker goes back to the model the chat still has).
  const shownRefusals = new WeakSet();
  let statusTimer = null;

  function actionStatus() {
    let region = document.getElementById("action-status");
    if (!region) { // a page without the chat's dock (a comparison)
      region = document.createElement("div");
      region.id = "action-status";
      region.className = "action-status is-floating";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      chat.appendChild(region);
    }
    return region;
  }
  actionStatus(); // in the page before anything is said in it, so that it is announced

  function showStatus(text) {
    const region = actionStatus();
    const note = document.createElement("p");
    note.className = "action-toast";
    note.textContent = text;
    region.replaceChildren(note);
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { region.replaceChildren(); }, 8000);
  }

  function refusalText(xhr) {
    const text = (xhr.responseText || "").trim();
    // A plain sentence is the server's reason; a whole error page is not something to quote.
    if (xhr.status < 500 && text && text[0] !== "<" && text.length <= 600) return text;
    if (xhr.status === 403) return "You do not have the right to do that here.";
    if (xhr.status === 404) return "That is no longer there. Reload the page.";
    return "The request failed (" + xhr.status + "). Try again.";
  }

  function requester(detail) { // beforeSwap fires on the target, which may be another element
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
  }

  function swapsNothing(detail) {
    if (detail.swapOverride) return detail.swapOverride.trim().split(/\s+/)[0] === "none";
    const holder = requester(detail)?.closest("[hx-swap]"); // inherited, as htmx reads it
    return Boolean(holder) && holder.getAttribute("hx-swap").trim().split(/\s+/)[0] === "none";
  }

  // The picker's model before a change, which a refusal puts back: noted now, and when a picker
  // the composer brought back (after a refused send) gets the focus.
  const picker = document.getElementById("model-picker");
  if (picker) picker.dataset.chosen = picker.value;
  document.addEventListener("focusin", function (event) {
    const target = event.target;
    if (target.id === "model-picker" && !target.dataset.chosen) target.dataset.chosen = target.value;
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status < 400 || !swapsNothing(event.detail)) return;
    shownRefusals.add(xhr);
    showStatus(refusalText(xhr));
    event.detail.shouldSwap = false;
    const elt = requester(event.detail);
    if (elt && elt.id === "model-picker" && elt.dataset.chosen) elt.value = elt.dataset.chosen;
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    const elt = requester(event.detail);
    if (elt && elt.id === "model-picker" && event.detail.xhr.status < 400) elt.dataset.chosen = elt.value;
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status !== 422 && !shownRefusals.has(xhr)) showConnection("The request failed (" + xhr.status + "). Try again.");
  });
  document.body.addEventListener("htmx:sendError", function (event) {
    if (swapsNothing(event.detail)) showStatus("The server could not be reached. Try again.");
  });

  decorateCode(chat);
  watchStreaming();
  document.querySelectorAll(".messages").forEach(toBottom);
  autosize();
  connect();
})();
