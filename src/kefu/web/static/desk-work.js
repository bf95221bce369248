/* Kefu desk work tools: macros (apply, add, edit), attachments in the composers (agent and
   customer), and the agent's notifications (a sound and a browser notification on a new chat or
   a customer's reply to one of their cases).
   No inline script or handler (the Content-Security-Policy forbids them): elements say what they
   do in data-attributes; everything a person wrote is inserted as text, never as HTML. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("kefu-config")?.textContent || "{}");
  const W = JSON.parse(document.getElementById("desk2-text")?.textContent || "{}");
  const csrf = cfg.csrf || "";

  async function api(method, url, body) {
    const r = await fetch(url, { method, credentials: "same-origin",
      // the page's language, so a refusal (and a question such as a hand-over's) reads in it
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf,
        "Accept-Language": document.documentElement.lang || "zh-CN" },
      body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { ok: r.ok, status: r.status, data };
  }
  function refusal(r) { return (r.data && (r.data.detail || r.data.title)) || String(r.status); }
  function say(text) {
    const s = document.querySelector("[data-role=status]");
    if (s) { s.textContent = text; s.classList.add("error"); } else { window.kefuRefused({ status: 0, data: { detail: text } }); }
  }
  function splitTags(text) {
    return (text || "").split(/[\s,，、]+/).map((x) => x.replace(/^#/, "")).filter(Boolean);
  }

  /* ------------------------------------------------------------------ macros */
  // A draft survives the reload that shows the macro's changes to the case.
  const draftKey = (caseId) => "kefu-draft-" + caseId;
  const chatRoot = document.querySelector("[data-chat]");
  if (chatRoot) {
    const key = draftKey(chatRoot.dataset.caseId);
    const saved = sessionStorage.getItem(key);
    const input = chatRoot.querySelector("[data-role=input]");
    if (saved !== null && input) {
      sessionStorage.removeItem(key);
      input.value = saved;
      input.dispatchEvent(new Event("input"));  // the guard screens the draft
    }
  }

  async function applyMacro(select) {
    const id = select.value;
    select.value = "";
    if (!id) return;
    const caseId = select.dataset.caseId;
    select.disabled = true;
    const r = await api("POST", "/api/v1/cases/" + caseId + "/macros/" + id);
    select.disabled = false;
    if (!r.ok) { say(refusal(r)); return; }
    const input = document.querySelector("[data-role=input]");
    const text = r.data.text || "";
    const draft = input ? (input.value && text ? input.value + "\n" + text : input.value || text) : text;
    sessionStorage.setItem(draftKey(caseId), draft);
    location.reload();
  }

  function macroForm() { return document.querySelector("[data-role=macro-form]"); }

  function editMacro(button) {
    const m = JSON.parse(button.dataset.macro);
    const f = macroForm();
    if (!f) return;
    f.elements.id.value = m.id;
    f.elements.name.value = m.name;
    if (f.elements.shared) { f.elements.shared.checked = m.shared; f.elements.shared.disabled = true; }
    f.elements.body_zh.value = m.body_zh;
    f.elements.body_en.value = m.body_en;
    f.elements.status.value = m.status || "";
    f.elements.priority.value = m.priority || "";
    f.elements.add_tags.value = m.add_tags.join(" ");
    f.elements.remove_tags.value = m.remove_tags.join(" ");
    f.elements.assign.value = m.assign || "";
    f.elements.name.focus();
  }

  async function saveMacro(button) {
    const f = macroForm();
    if (!f || !f.reportValidity()) return;
    const e = f.elements;
    const body = {
      name: e.name.value, body_zh: e.body_zh.value, body_en: e.body_en.value,
      status: e.status.value || null, priority: e.priority.value || null,
      add_tags: splitTags(e.add_tags.value), remove_tags: splitTags(e.remove_tags.value),
      assign: e.assign.value,
    };
    let r;
    button.disabled = true;
    if (e.id.value) {
      if (body.priority === null) body.priority = "";
      if (body.status === null) body.status = "";
      r = await api("PATCH", "/api/v1/macros/" + e.id.value, body);
    } else {
      body.shared = !!(e.shared && e.shared.checked);
      r = await api("POST", "/api/v1/macros", body);
    }
    button.disabled = false;
    if (!r.ok) { window.kefuRefused(r); return; }
    location.reload();
  }

  /* ------------------------------------------------------------------ attachments */
  // The composer's file picker uploads the file (and the typed text as its caption) in one
  // multipart request; the message then arrives over the chat socket like any other.
  async function upload(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    const root = input.closest("[data-chat]");
    const caseId = input.dataset.caseId;
    const text = root ? root.querySelector("[data-role=input]") : null;
    const note = root ? root.querySelector("[data-role=note-toggle]") : null;
    const form = new FormData();
    form.append("file", file, file.name);
    if (text && text.value.trim()) form.append("body", text.value.trim());
    if (note && note.checked) form.append("internal", "true");
    input.disabled = true;
    let r;
    try {
      r = await fetch("/api/v1/cases/" + caseId + "/attachments", { method: "POST",
        credentials: "same-origin", headers: { "X-CSRF-Token": csrf,
          "Accept-Language": document.documentElement.lang || "zh-CN" }, body: form });
    } finally { input.disabled = false; input.value = ""; }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) { say(refusal({ data, status: r.status })); return; }
    if (text) text.value = "";
    if (window.kefuChat && data && data.message) window.kefuChat.addMessage(data.message);
  }

  /* ------------------------------------------------------------------ notifications */
  // Permission is asked only on a click (browsers refuse a request that no gesture started).
  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.type = "sine"; o.frequency.value = 880;
      g.gain.setValueAtTime(0.0001, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio device: the notification still shows */ }
  }
  function notify(title, body, url) {
    beep();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const n = new Notification(title, { body, tag: url, lang: cfg.lang === "en" ? "en" : "zh-CN" });
    n.onclick = () => { window.focus(); location.href = url; n.close(); };
  }
  function paintNotifyButton(b) {
    const on = "Notification" in window && Notification.permission === "granted";
    b.textContent = on ? (W.notifyOn || "notifications on") : (W.notifyAsk || "turn on notifications");
    b.dataset.state = on ? "on" : "off";
  }
  const notifyButton = document.querySelector("[data-role=notify-toggle]");
  if (notifyButton) {
    paintNotifyButton(notifyButton);
    notifyButton.addEventListener("click", async (e) => {
      e.preventDefault();
      if ("Notification" in window && Notification.permission === "default") {
        await Notification.requestPermission();
      }
      if (audio === null) beep();  // unlocks the sound on this gesture
      paintNotifyButton(notifyButton);
    });
  }
  // The desk's own socket subscribes to the agent's feed: chats waiting for an agent, replies to
  // their cases, cases assigned to them by someone else.
  function listen() {
    if (!document.querySelector("[data-role=desk-feed]")) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws");
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", feed: "alerts" }));
    ws.onmessage = (ev) => {
      let f; try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type !== "alert") return;
      const url = "/desk/cases/" + f.case_id;
      const open = chatRoot && String(f.case_id) === chatRoot.dataset.caseId;
      if (open && document.visibilityState === "visible") return;  // already in front of them
      const title = f.kind === "new_chat" ? (W.newChat || "New chat")
        : f.kind === "assigned" ? (W.assigned || "Assigned to you")
        : f.kind === "escalation" ? (W.escalation || "Escalation update") : (W.newReply || "Customer replied");
      notify(title + " · #" + f.case_id, f.subject || "", url);
    };
    ws.onclose = (ev) => { if (ev.code < 4000) setTimeout(listen, 3000); };
  }
  listen();

  /* ------------------------------------------------------------------ live view clocks */
  // waits and overdue times count up between the board's refreshes
  function pad(n) { return String(n).padStart(2, "0"); }
  setInterval(() => {
    document.querySelectorAll("[data-elapsed]").forEach((e) => {
      if (!e.dataset.t0) e.dataset.t0 = String(Date.now() - 1000 * parseInt(e.dataset.elapsed, 10));
      const s = Math.max(0, Math.floor((Date.now() - parseInt(e.dataset.t0, 10)) / 1000));
      e.textContent = Math.floor(s / 3600) + ":" + pad(Math.floor(s % 3600 / 60)) + ":" + pad(s % 60);
    });
  }, 1000);

  /* ------------------------------------------------------------------ wiring */
  document.addEventListener("change", (e) => {
    const s = e.target.closest("select[data-action=macro]");
    if (s) { applyMacro(s); return; }
    const f = e.target.closest("input[data-action=attach]");
    if (f) upload(f);
  });
  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b || b.disabled) return;
    if (b.dataset.action === "macro-edit") { e.preventDefault(); editMacro(b); }
    else if (b.dataset.action === "macro-save") { e.preventDefault(); saveMacro(b); }
  });
})();

/* Kefu desk: saved views and merging. Forms with data-confirm ask before they post (a merge
   cannot be undone; a deleted view is gone); "{target}" in the question is the chosen case.
   No inline script (the Content-Security-Policy forbids it). */
(function () {
  "use strict";
  // a filter changed while a saved view is open: the queue leaves the view and filters by the
  // bar, which shows the view's filters to start from (before htmx sends the change)
  document.addEventListener("change", (e) => {
    const form = e.target.closest(".queue-tools");
    if (!form || ["name", "shared"].includes(e.target.name)) return;
    const saved = form.querySelector("[data-role=saved-view]");
    if (saved) saved.remove();
    document.querySelectorAll(".saved-view.on").forEach((a) => a.classList.remove("on"));
  }, true);
  document.addEventListener("input", (e) => {
    if (e.target.type !== "search") return;
    const form = e.target.closest(".queue-tools");
    const saved = form && form.querySelector("[data-role=saved-view]");
    if (saved) saved.remove();
  }, true);
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (!form) return;
    const pick = form.querySelector("[data-confirm-field]");
    const question = form.dataset.confirm.replace("{target}", pick ? pick.value : "");
    if (!window.confirm(question)) e.preventDefault();
  });
})();
