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
      const drawer = document.getElementById("drawer");
      drawer.hidden = false;
      drawer.querySelector("input,button")?.focus();
    } else if (target.matches("[data-close-drawer]")) {
      document.getElementById("drawer").hidden = true;
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
      const answer = target.closest(".msg")?.querySelector(".answer");
      copyText(target, answer ? answer.innerText : "");
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
    const done = function () {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
  }

  setTimeout(function () {
    document.querySelectorAll(".toast").forEach(function (t) { t.remove(); });
  }, 6000);

  if (!chat) return;

  // ---- rendering ------------------------------------------------------------------------------
  function renderMarkdown(text) {
    if (!window.marked || !window.DOMPurify) return null;
    const html = window.marked.parse(text, { gfm: true, breaks: false, async: false });
    return window.DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_ATTR: ["style"] });
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

  function nearBottom(scroller) {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  function renderStream(id) {
    const el = elementFor(id);
    const state = streams.get(id);
    if (!el || !state || el.dataset.status !== "streaming") return;
    const scroller = scrollerOf(el);
    const stick = nearBottom(scroller);
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
    if (stick) scroller.scrollTop = scroller.scrollHeight;
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
    const stick = nearBottom(scroller);
    el.outerHTML = frame.html;
    const fresh = elementFor(frame.message_id);
    if (fresh) {
      if (wasOpen) fresh.querySelector(".thinking").open = true;
      decorateCode(fresh);
      if (window.htmx) window.htmx.process(fresh);
    }
    if (stick) scroller.scrollTop = scroller.scrollHeight;
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
    list.scrollTop = list.scrollHeight;
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
    if (event.key === "Escape" && streamingElement()) {
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
      document.querySelectorAll(".messages").forEach(function (list) { list.scrollTop = list.scrollHeight; });
      watchStreaming();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "composer" || event.detail.elt.id === "composer") {
      document.getElementById("message-input")?.focus();
    }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr.status !== 422) showConnection("The request failed (" + event.detail.xhr.status + "). Try again.");
  });

  decorateCode(chat);
  watchStreaming();
  document.querySelectorAll(".messages").forEach(function (list) { list.scrollTop = list.scrollHeight; });
  autosize();
  connect();
})();
