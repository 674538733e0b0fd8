// Documents into a chat's context: pick or drop files, upload them one by one with a progress
// bar, then watch each being read (the server publishes "document" frames on the chat's
// websocket; chat.js passes them on as a "playground:document" event).
(function () {
  "use strict";

  const chat = document.getElementById("chat");
  if (!chat || !chat.dataset.uploadUrl) return;
  const maxFiles = Number(chat.dataset.maxFiles || 20);
  const maxBytes = Number(chat.dataset.maxMb || 50) * 1024 * 1024;
  const overlay = chat.querySelector(".drop-overlay");
  let chatUrl = null; // set when the first upload of a new chat creates it

  function csrfToken() {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  }

  function chips() { return document.getElementById("doc-chips"); }

  function refreshMeter() {
    const meter = document.getElementById("context-meter");
    if (meter && window.htmx) window.htmx.trigger(meter, "refresh");
  }

  // Past a few documents, the read ones fold into one line that opens on a click
  // (#doc-group), so the chips never take the conversation's height. One being uploaded or
  // read, or that failed, stays in the open list: it holds the send. The server renders the
  // same grouping; this keeps it as chips come, change and go.
  function regroup() {
    const strip = document.getElementById("context-strip");
    const group = document.getElementById("doc-group");
    const grouped = document.getElementById("doc-group-chips");
    if (!strip || !group || !grouped) return;
    const all = Array.from(strip.querySelectorAll(".doc-chip"));
    // Counted as the server counts: attached documents (an upload that was refused is not one).
    const attachedCount = all.filter(function (chip) { return chip.dataset.documentId; }).length;
    const collapse = attachedCount > Number(strip.dataset.collapseAfter);
    let count = 0;
    let tokens = 0;
    all.forEach(function (chip) {
      const place = collapse && chip.dataset.status === "ready" ? grouped : chips();
      if (chip.parentElement !== place) place.appendChild(chip);
      if (place === grouped) {
        count += 1;
        tokens += Number(chip.dataset.tokens || 0);
      }
    });
    if (group.hidden !== !count) group.hidden = !count;
    const text = count + (count === 1 ? " document · " : " documents · ") + tokens.toLocaleString("en-US") + " tokens";
    const label = group.querySelector(".doc-group-label");
    // Only a real change: this runs from a MutationObserver that would see its own writes.
    if (label && label.textContent !== text) label.textContent = text;
  }

  // Keeps "Add from library" to documents the chat does not have: the server answers a change
  // with the picker again (an htmx out-of-band swap; an upload's answer is read here).
  function replacePicker(picker) {
    const current = document.getElementById("library-pick");
    if (!picker || !current) return;
    picker.removeAttribute("hx-swap-oob");
    current.replaceWith(picker);
    if (window.htmx) window.htmx.process(picker);
  }

  function pendingChip(file) {
    const li = document.createElement("li");
    li.className = "doc-chip is-uploading";
    li.setAttribute("data-status", "uploading");
    const badge = document.createElement("span");
    badge.className = "doc-badge";
    badge.setAttribute("aria-hidden", "true");
    badge.textContent = "↑";
    const body = document.createElement("span");
    body.className = "doc-body";
    const name = document.createElement("span");
    name.className = "doc-name";
    name.textContent = file.name; // a file name is untrusted: text, never HTML
    const facts = document.createElement("span");
    facts.className = "doc-facts";
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    const label = document.createElement("span");
    label.textContent = "Uploading… 0%";
    facts.append(bar, " ", label);
    body.append(name, facts);
    li.append(badge, body);
    chips().appendChild(li);
    return { li: li, bar: bar, label: label };
  }

  function failChip(view, message) {
    view.li.className = "doc-chip is-failed";
    view.li.setAttribute("data-status", "failed");
    const facts = view.li.querySelector(".doc-facts");
    facts.textContent = "";
    const error = document.createElement("span");
    error.className = "doc-error";
    error.setAttribute("role", "alert");
    error.textContent = message;
    facts.appendChild(error);
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "icon-btn doc-detach";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.textContent = "✕";
    dismiss.addEventListener("click", function () { view.li.remove(); });
    view.li.appendChild(dismiss);
  }

  function uploadOne(file) {
    const view = pendingChip(file);
    if (file.size > maxBytes) {
      failChip(view, "“" + file.name + "” is over the limit of " + (maxBytes / 1024 / 1024) + " MB a file.");
      return Promise.resolve(false);
    }
    return new Promise(function (resolve) {
      const form = new FormData();
      form.append("file", file);
      const chatId = chat.dataset.chatId;
      if (chatId) form.append("chat", chatId);
      else form.append("new_chat", "1");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", chat.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) return;
        const percent = Math.round(100 * event.loaded / event.total);
        view.bar.value = percent;
        view.label.textContent = percent < 100 ? "Uploading… " + percent + "%" : "Uploaded; waiting to be read…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 200) {
          const created = xhr.getResponseHeader("X-Chat-Url");
          if (created && !chat.dataset.chatId) {
            chatUrl = created;
            chat.dataset.chatId = created.split("/").filter(Boolean).pop();
          }
          const holder = document.createElement("template");
          holder.innerHTML = xhr.responseText.trim();
          const chip = holder.content.firstElementChild;
          replacePicker(holder.content.getElementById("library-pick"));
          const existing = chip && document.getElementById(chip.id);
          if (existing && existing !== view.li) { existing.replaceWith(chip); view.li.remove(); }
          else if (chip) view.li.replaceWith(chip);
          if (chip && window.htmx) window.htmx.process(chip);
          refreshMeter();
          resolve(true);
          return;
        }
        failChip(view, [413, 422, 429].includes(xhr.status) && xhr.responseText ? xhr.responseText.trim() : "The upload failed (" + xhr.status + "). Try again.");
        resolve(false);
      });
      xhr.addEventListener("error", function () { failChip(view, "The upload failed: the connection dropped."); resolve(false); });
      xhr.send(form);
    });
  }

  async function uploadFiles(fileList) {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    if (files.length > maxFiles) {
      const view = pendingChip({ name: files.length + " files" });
      failChip(view, "At most " + maxFiles + " files at a time; you chose " + files.length + ".");
      return;
    }
    let failed = 0;
    for (const file of files) { // one by one: each with its own progress
      if (!(await uploadOne(file))) failed += 1;
    }
    if (!chatUrl) return;
    // A new chat was made for these files: go to it, unless a refusal needs reading first.
    if (!failed) { location.href = chatUrl; return; }
    const link = document.createElement("a");
    link.className = "btn btn-small";
    link.href = chatUrl;
    link.textContent = "Open the chat with the files that were added →";
    chips().appendChild(link);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-attach]")) document.querySelector("[data-upload-input]")?.click();
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-upload-input]")) {
      uploadFiles(event.target.files);
      event.target.value = "";
    }
  });

  // Drag and drop anywhere on the chat column.
  let dragDepth = 0;
  function hasFiles(event) { return Array.from(event.dataTransfer?.types || []).indexOf("Files") !== -1; }
  chat.addEventListener("dragenter", function (event) {
    if (!hasFiles(event)) return;
    dragDepth += 1;
    overlay.hidden = false;
  });
  chat.addEventListener("dragleave", function () {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) overlay.hidden = true;
  });
  chat.addEventListener("dragover", function (event) { if (hasFiles(event)) event.preventDefault(); });
  chat.addEventListener("drop", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    overlay.hidden = true;
    uploadFiles(event.dataTransfer.files);
  });

  // After a reconnect, frames sent while the socket was down are lost: ask for the chips
  // of documents still being read, and the meter.
  window.addEventListener("playground:ready", function () {
    const chatId = chat.dataset.chatId;
    if (!chatId) return;
    document.querySelectorAll('.doc-chip[data-status="queued"], .doc-chip[data-status="extracting"]').forEach(function (element) {
      fetch("/chat/" + chatId + "/documents/" + element.dataset.documentId, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          // A frame that came in the meantime replaced the chip and is newer than this
          // answer: an older "Reading…" must not take the place of "ready".
          if (html && document.getElementById(element.id) === element) window.dispatchEvent(new CustomEvent("playground:document", {
            detail: { document_id: Number(element.dataset.documentId), status: "", html: html } }));
        });
    });
    refreshMeter();
  });

  // Reading progress and results, pushed by the server.
  window.addEventListener("playground:document", function (event) {
    const frame = event.detail;
    const element = document.getElementById("document-" + frame.document_id);
    if (!element) return;
    const holder = document.createElement("template");
    holder.innerHTML = frame.html.trim();
    const chip = holder.content.firstElementChild;
    if (!chip) return;
    element.replaceWith(chip);
    if (window.htmx) window.htmx.process(chip);
    if (frame.status === "ready" || frame.status === "failed") refreshMeter();
  });
  // Attached from the library: a chip the list shows already is replaced, not repeated.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "doc-chips" || event.detail.xhr.status !== 200) return;
    const holder = document.createElement("template");
    holder.innerHTML = event.detail.serverResponse;
    const chip = holder.content.firstElementChild;
    if (chip && chip.id) document.getElementById(chip.id)?.remove();
  });

  // A refreshed meter keeps its breakdown open if the user opened it.
  let meterOpen = false;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id === "context-meter") {
      meterOpen = Boolean(event.detail.target.querySelector("details[open]"));
    }
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    const details = document.querySelector("#context-meter details");
    if (details && meterOpen) details.open = true;
  });
  document.addEventListener("toggle", function (event) {
    if (event.target.closest && event.target.closest("#context-meter")) meterOpen = event.target.open;
  }, true);

  document.body.addEventListener("htmx:afterRequest", function (event) {
    // Detached, attached from the library, or read again: the context changed.
    const path = event.detail.requestConfig?.path || "";
    if (event.detail.successful && /\/documents\/(attach|\d+\/(detach|retry))$/.test(path)) refreshMeter();
  });

  const strip = document.getElementById("context-strip");
  if (strip) {
    regroup();
    new MutationObserver(regroup).observe(strip, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["data-status"],
    });
  }
})();
