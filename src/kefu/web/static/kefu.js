/* Kefu consoles: the chat socket client, the guard check while typing, keyboard shortcuts and
   what the pages' buttons and selects do.
   Everything a person wrote is inserted with textContent: HTML in a message never runs.
   The pages carry no inline script or style (the Content-Security-Policy allows neither): an
   element says what it does in data-attributes and one delegated listener acts on it. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("kefu-config")?.textContent || "{}");
  const T = cfg.text || {};
  const csrf = cfg.csrf || "";

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  /* "MM-DD HH:mm" in the configured zone: the same format as the server's localtime filter,
     so a message that arrives live reads like the ones the page was loaded with */
  function fmtTime(iso) {
    try {
      const parts = {};
      new Intl.DateTimeFormat("en-GB", { month: "2-digit", day: "2-digit", hour: "2-digit",
        minute: "2-digit", hourCycle: "h23", timeZone: cfg.tz || "Asia/Shanghai" })
        .formatToParts(new Date(iso)).forEach((p) => { parts[p.type] = p.value; });
      return parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
    } catch (e) { return iso; }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  /* a refused request, said on the page in its language (never a browser alert): the status
     in words, then what the server named, in a bar the person closes */
  function refused(r) {
    const R = T.refusal || {};
    const known = R[String(r.status)];
    const detail = (r.data && (r.data.detail || r.data.title)) || "";
    const text = known ? known : (R.other || "Not done") + (detail ? ": " + detail : "");
    let bar = document.querySelector("[data-role=refusal]");
    if (!bar) {
      bar = el("div", "flash error refusal");
      bar.dataset.role = "refusal";
      bar.dataset.testid = "refusal";
      bar.setAttribute("role", "alert");
      const main = document.querySelector("main") || document.body;
      main.insertBefore(bar, main.firstChild);
    }
    bar.textContent = "";
    bar.appendChild(el("span", null, text));
    const close = el("button", "ghost x", "×");
    close.setAttribute("aria-label", R.close || "close");
    close.addEventListener("click", () => bar.remove());
    bar.appendChild(close);
    bar.scrollIntoView({ block: "nearest" });
  }
  window.kefuRefused = refused;

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

  /* a message's file: an image shown inline (it links to itself), anything else a download */
  function attachmentEl(a) {
    const box = el("div", "att");
    box.dataset.testid = "attachment";
    const link = el("a");
    link.href = a.url;
    if (a.image) {
      link.target = "_blank"; link.rel = "noopener";
      const img = el("img", "att-img");
      img.src = a.url; img.alt = a.name; img.loading = "lazy";
      img.dataset.testid = "attachment-image";
      if (a.width) { img.width = a.width; img.height = a.height; }
      link.appendChild(img);
    } else {
      link.download = a.name;
      link.textContent = "↓ " + a.name;
    }
    box.appendChild(link);
    return box;
  }

  /* ---------------------------------------------------------------- chat socket */
  class Chat {
    constructor(root) {
      this.root = root;
      this.caseId = parseInt(root.dataset.caseId, 10);
      this.me = cfg.userId;
      this.role = cfg.role;
      this.list = root.querySelector("[data-role=messages]");
      this.status = root.querySelector("[data-role=status]");
      this.typingEl = root.querySelector("[data-role=typing]");
      this.queueEl = root.querySelector("[data-role=queue]");
      this.input = root.querySelector("[data-role=input]");
      this.form = root.querySelector("[data-role=composer]");
      this.guardBox = root.querySelector("[data-role=guard]");
      this.noteToggle = root.querySelector("[data-role=note-toggle]");
      this.seen = new Set();
      this.lastSeen = 0;
      this.pending = new Map(); // key -> {body, internal, confirm}
      this.otherRead = 0;
      this.backoff = 500;
      this.closedByServer = null;
      this.typingTimer = null;
      this.lastTypingSent = 0;
      root.querySelectorAll("[data-message-id]").forEach((m) => {
        const id = parseInt(m.dataset.messageId, 10);
        this.seen.add(id); this.lastSeen = Math.max(this.lastSeen, id);
      });
      this.scroll();
      if (this.form) this.bindComposer();
      this.connect();
    }
    setStatus(text, bad) {
      if (!this.status) return;
      this.status.textContent = text;
      this.status.classList.toggle("muted", !bad);
      this.status.classList.toggle("flash", !!bad);
      this.status.classList.toggle("error", !!bad);
    }
    connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(proto + "//" + location.host + "/ws");
      this.ws = ws;
      ws.onopen = () => {
        this.backoff = 500;
        this.setStatus(T.connected || "connected");
        ws.send(JSON.stringify({ type: "hello", case_id: this.caseId, last_seen: this.lastSeen }));
        // anything not acknowledged before a drop is sent again with the same key: the server
        // returns the first message for a repeated key, so nothing is duplicated
        for (const [key, p] of this.pending) this.sendFrame(key, p);
      };
      ws.onmessage = (ev) => this.onFrame(JSON.parse(ev.data));
      ws.onclose = (ev) => {
        if (ev.code >= 4000) {
          this.closedByServer = ev.code;
          this.setStatus((T.refused || "Connection refused") + ": " + ev.reason + " (" + ev.code + ")", true);
          if (ev.code === 4401 || ev.code === 4404) return; // reconnecting would not help
        } else {
          this.setStatus(T.reconnecting || "reconnecting…", true);
        }
        setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 8000);
      };
    }
    onFrame(f) {
      if (f.type === "message") this.addMessage(f.message);
      else if (f.type === "ack") {
        this.pending.delete(f.key);
        const pendingEl = this.list.querySelector('[data-key="' + CSS.escape(f.key || "") + '"]');
        if (pendingEl) pendingEl.remove();
      } else if (f.type === "error") {
        const p = this.pending.get(f.key);
        this.pending.delete(f.key);
        const pendingEl = this.list.querySelector('[data-key="' + CSS.escape(f.key || "") + '"]');
        if (pendingEl) pendingEl.remove();
        if (p && this.input && !this.input.value) this.input.value = p.body;
        this.showGuard(f.findings || [], f.verdict || "block", f.detail, p);
      } else if (f.type === "typing") {
        if (!this.typingEl) return;
        this.typingEl.textContent = f.role === "customer" ? (T.customerTyping || "typing…")
          : (T.agentTyping || "typing…");
        clearTimeout(this.typingTimer);
        this.typingTimer = setTimeout(() => { this.typingEl.textContent = ""; }, 3000);
      } else if (f.type === "read") {
        const mine = (this.role === "customer") ? f.by === "agent" : f.by === "customer";
        if (mine) { this.otherRead = Math.max(this.otherRead, f.message_id); this.paintReceipts(); }
      } else if (f.type === "case") {
        const c = f.case;
        this.otherRead = Math.max(this.otherRead,
          this.role === "customer" ? c.agent_read_id : c.customer_read_id);
        this.paintReceipts();
        const badge = document.querySelector("[data-role=case-status]");
        if (badge && c.status) { badge.textContent = (T.status || {})[c.status] || c.status;
          badge.className = "pill " + c.status_category; }
        if (this.queueEl && c.assignee_id) { this.queueEl.hidden = true; }
        const rate = document.querySelector("[data-role=rate]");
        if (rate) rate.hidden = !(c.status_category === "resolved" || c.status_category === "closed");
      } else if (f.type === "queue") {
        if (!this.queueEl || this.left) return;
        if (f.assigned || !f.position) { this.queueEl.hidden = true; return; }
        this.queueEl.hidden = false;
        // with nobody online a wait estimate would be a promise nobody keeps: say so instead
        this.queueEl.textContent = f.agents_online === 0
          ? (T.queueNobody || "No agent is online; your message is kept and answered later.")
          : (T.queue || "Position {p}, about {m} min")
            .replace("{p}", f.position).replace("{m}", f.wait_minutes);
        if (f.agents_online === 0 && this.role === "customer") {
          // nobody to answer live: the customer may leave the chat as a message (ticket SLA)
          const leave = el("button", "ghost small", T.leaveMessage || "Leave a message");
          leave.dataset.testid = "leave-message";
          leave.addEventListener("click", async () => {
            leave.disabled = true;
            const r = await api("POST", `/api/v1/cases/${this.caseId}/leave-message`);
            if (r.ok) { this.queueEl.textContent = T.leftMessage || "Left as a message"; this.left = true; }
            else { leave.disabled = false; refused(r); }
          });
          this.queueEl.appendChild(document.createTextNode(" "));
          this.queueEl.appendChild(leave);
        }
      } else if (f.type === "case.merged") {
        // the case was merged (kefu.desk.merge): the conversation continues in the target
        if (f.target_id && f.target_id !== this.caseId) {
          const base = this.role === "customer" ? "/cases/" : "/desk/cases/";
          window.location.assign(base + f.target_id);
        } else {
          window.location.reload();
        }
      } else if (f.type === "chat.ended") {
        this.setStatus(T.chatEnded || "chat ended");
        // the customer's side of a finished chat closes; a new question starts a new chat
        if (this.role === "customer" && this.form) {
          this.form.querySelectorAll("textarea, input, button").forEach((x) => { x.disabled = true; });
          this.form.dataset.ended = "1";
        }
      }
    }
    addMessage(m) {
      if (this.seen.has(m.id)) return;
      this.seen.add(m.id);
      this.lastSeen = Math.max(this.lastSeen, m.id);
      const mine = m.author_id === this.me;
      const box = el("div", "msg " + m.kind + (mine ? " mine" : ""));
      box.dataset.messageId = m.id;
      if (m.kind !== "system") {
        const meta = el("div", "meta");
        const who = m.kind === "customer" ? (mine ? (T.you || "you") : (m.author || T.customer))
          : (m.author || T.agent || "agent");
        meta.textContent = (m.kind === "note" ? "🔒 " + (T.note || "note") + " · " : "") + who + " · " + fmtTime(m.created_at);
        box.appendChild(meta);
      }
      box.appendChild(el("div", "body", m.body));
      (m.attachments || []).forEach((a) => box.appendChild(attachmentEl(a)));
      if (mine && m.kind !== "note") box.appendChild(el("div", "receipt"));
      this.list.appendChild(box);
      this.paintReceipts();
      this.scroll();
      if (!mine) this.markRead(m.id);
    }
    markRead(id) {
      if (document.visibilityState === "hidden" || !this.ws || this.ws.readyState !== 1) return;
      this.ws.send(JSON.stringify({ type: "read", case_id: this.caseId, message_id: id }));
    }
    paintReceipts() {
      this.list.querySelectorAll(".msg.mine").forEach((b) => {
        const r = b.querySelector(".receipt");
        if (r) r.textContent = parseInt(b.dataset.messageId, 10) <= this.otherRead ? (T.read || "read") : (T.sent || "sent");
      });
    }
    scroll() { if (this.list) this.list.scrollTop = this.list.scrollHeight; }
    sendFrame(key, p) {
      if (!this.ws || this.ws.readyState !== 1) return false;
      this.ws.send(JSON.stringify({ type: "send", case_id: this.caseId, body: p.body, key,
        internal: !!p.internal, confirm: !!p.confirm }));
      return true;
    }
    send(body, opts) {
      body = (body || "").trim();
      if (!body) return;
      const key = uuid();
      const p = { body, internal: !!(opts && opts.internal), confirm: !!(opts && opts.confirm) };
      this.pending.set(key, p);
      const ghost = el("div", "msg mine sending", body);
      ghost.dataset.key = key;
      this.list.appendChild(ghost); this.scroll();
      this.sendFrame(key, p);
      return key;
    }
    bindComposer() {
      this.form.addEventListener("submit", (e) => {
        e.preventDefault();
        const internal = this.noteToggle && this.noteToggle.checked;
        this.clearGuard();
        this.send(this.input.value, { internal });
        this.input.value = "";
      });
      this.input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.form.requestSubmit(); }
      });
      this.input.addEventListener("input", () => {
        const now = Date.now();
        if (now - this.lastTypingSent > 2000 && this.ws && this.ws.readyState === 1) {
          this.lastTypingSent = now;
          this.ws.send(JSON.stringify({ type: "typing", case_id: this.caseId }));
        }
        if (this.role !== "customer") this.screenDraft();
      });
      if (this.noteToggle) this.noteToggle.addEventListener("change", () => {
        this.form.classList.toggle("note-mode", this.noteToggle.checked);
        this.screenDraft();
      });
    }
    screenDraft() {
      clearTimeout(this.screenTimer);
      this.screenTimer = setTimeout(async () => {
        const text = this.input.value;
        if (!text.trim() || (this.noteToggle && this.noteToggle.checked)) { this.clearGuard(); return; }
        const r = await api("POST", "/api/v1/screen", { text, role: "agent" });
        if (!r.ok || this.input.value !== text) return;
        if (r.data.verdict === "allow") this.clearGuard();
        else this.showGuard(r.data.findings, r.data.verdict, null, null, text);
      }, 400);
    }
    clearGuard() { if (this.guardBox) this.guardBox.replaceChildren(); }
    showGuard(findings, verdict, detail, pendingMsg, draft) {
      if (!this.guardBox) { this.setStatus(detail || "blocked", true); return; }
      this.guardBox.replaceChildren();
      const text = draft !== undefined && draft !== null ? draft : (pendingMsg ? pendingMsg.body : this.input.value);
      const head = el("div", "small verdict " + (verdict === "block" ? "block" : "warn"),
        verdict === "block" ? (T.blocked || "Blocked") : (T.warned || "Warning"));
      this.guardBox.appendChild(head);
      // the draft with each finding's span highlighted and, inside it, the words of each class
      // that fired (the model's top n-grams for its finding); built from text nodes: nothing is
      // parsed as HTML
      this.guardBox.appendChild(highlightDraft(text, findings));
      findings.forEach((f) => {
        const box = el("div", "finding" + (f.category === "disclosure" || f.rule === "model.review" ? " warn" : ""));
        const ex = f.explanation || {};
        const tag = f.score !== undefined && f.score !== null ? f.category + " " + f.score.toFixed(2) : f.category;
        box.appendChild(el("div", "", "[" + tag + "] " + (cfg.lang === "en" ? ex.en : ex.zh)));
        if (f.words && f.words.length) {
          const words = el("div", "small class-words");
          f.words.forEach((w) => words.appendChild(el("mark", "word", (w.class === "MODEL" ? "" : w.class + ": ") + w.word)));
          box.appendChild(words);
        }
        const hint = f.hint ? (cfg.lang === "en" ? f.hint.en : f.hint.zh) : null;
        if (hint) box.appendChild(el("div", "small muted", (T.hint || "Try") + ": " + hint));
        this.guardBox.appendChild(box);
      });
      if (verdict === "warn" && pendingMsg) {
        const b = el("button", "primary", T.confirmSend || "Send anyway");
        b.type = "button";
        b.dataset.role = "confirm-send";
        b.onclick = () => { this.clearGuard(); this.input.value = "";
          this.send(pendingMsg.body, { internal: pendingMsg.internal, confirm: true }); };
        this.guardBox.appendChild(b);
      }
    }
  }

  /** The draft as a node: each finding's span in mark.hit, each word of a class that fired
   * (or of the model's top n-grams) in mark.word (title: its class), plain text between. */
  function highlightDraft(text, findings) {
    const span = new Array(text.length).fill(false);
    const word = new Array(text.length).fill(null);
    findings.forEach((f) => {
      if (f.category !== "model") for (let i = Math.max(0, f.start); i < Math.min(text.length, f.end); i++) span[i] = true;
      (f.words || []).forEach((w) => {
        for (let i = Math.max(0, w.start); i < Math.min(text.length, w.end); i++) word[i] = word[i] || w.class;
      });
    });
    const out = el("div", "small draft-preview");
    let i = 0;
    while (i < text.length) {
      let j = i + 1;
      while (j < text.length && span[j] === span[i] && word[j] === word[i]) j++;
      const piece = text.slice(i, j);
      if (word[i]) {
        const m = el("mark", "word" + (span[i] ? " in-hit" : "") + (word[i] === "MODEL" ? " model" : ""), piece);
        m.title = word[i];
        m.dataset.class = word[i];
        out.appendChild(m);
      } else if (span[i]) out.appendChild(el("mark", "hit", piece));
      else out.appendChild(document.createTextNode(piece));
      i = j;
    }
    return out;
  }

  document.querySelectorAll("[data-chat]").forEach((root) => { window.kefuChat = new Chat(root); });

  /* ---------------------------------------------------------------- SLA countdowns */
  function paintSla() {
    document.querySelectorAll("[data-due]").forEach((e) => {
      const due = Date.parse(e.dataset.due);
      if (!due) return;
      const mins = Math.round((due - Date.now()) / 60000);
      const state = e.dataset.state;
      if (state === "paused" || state === "met") return;
      const abs = Math.abs(mins);
      const txt = abs >= 1440 ? Math.floor(abs / 1440) + "d" + Math.floor((abs % 1440) / 60) + "h"
        : abs >= 60 ? Math.floor(abs / 60) + "h" + (abs % 60) + "m" : abs + "m";
      e.textContent = (mins < 0 ? (T.overdue || "overdue ") : "") + txt;
    });
  }
  paintSla(); setInterval(paintSla, 30000);

  /* ---------------------------------------------------------------- keyboard shortcuts */
  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    const typing = tag === "input" || tag === "textarea" || tag === "select";
    if (e.altKey && !e.ctrlKey) {
      const target = { r: "[data-shortcut=resolve]", n: "[data-role=note-toggle]", p: "[data-shortcut=pending]",
        t: "[data-shortcut=take]" }[e.key.toLowerCase()];
      const b = target && document.querySelector(target);
      if (b) { e.preventDefault(); b.click(); }
      return;
    }
    if (typing) return;
    if (e.key === "/") { const s = document.querySelector("[data-shortcut=search]"); if (s) { e.preventDefault(); s.focus(); } }
    if (e.key === "j" || e.key === "k") {
      const items = [...document.querySelectorAll(".queue-item")];
      if (!items.length) return;
      let i = items.findIndex((x) => x.classList.contains("on"));
      i = e.key === "j" ? Math.min(items.length - 1, i + 1) : Math.max(0, i - 1);
      items[i].click();
    }
    if (e.key === "r") { const i = document.querySelector("[data-role=input]"); if (i) { e.preventDefault(); i.focus(); } }
  });

  /* ---------------------------------------------------------------- page actions */
  function appendToReply(text) {
    const input = document.querySelector("[data-role=input]");
    if (!input || !text) return;
    input.value = (input.value ? input.value + "\n" : "") + text;
    input.dispatchEvent(new Event("input"));  // the guard screens the new draft
  }

  /* data-api="METHOD /url" calls the API with the JSON of data-api-body, and a select puts its
     value into the field data-api-field (a number with data-api-int); then the page reloads to
     show the change; a refusal is said on the page instead (refused()). */
  async function callApi(elm, value) {
    const [method, url] = elm.dataset.api.split(" ");
    const body = elm.dataset.apiBody ? JSON.parse(elm.dataset.apiBody) : {};
    if (elm.dataset.apiField) {
      body[elm.dataset.apiField] = elm.dataset.apiInt !== undefined ? parseInt(value, 10) : value;
    }
    elm.disabled = true;
    let r = await api(method, url, body);
    // a refusal that only needs a yes (e.g. handing over to an agent who is offline) asks
    if (r.status === 409 && r.data && r.data.needs_confirm) {
      if (!window.confirm(r.data.detail)) { location.reload(); return; }
      r = await api(method, url, Object.assign({}, body, { confirm: true }));
    }
    if (!r.ok) { elm.disabled = false; refused(r); return; }
    location.reload();
  }

  const actions = {
    // a canned reply, rendered for this case (customer name, case number …), goes into the reply
    async canned(select) {
      const key = select.value;
      select.value = "";
      if (!key) return;
      const r = await api("POST", "/api/v1/canned/" + encodeURIComponent(key) + "/render",
        { case_id: parseInt(select.dataset.caseId, 10) });
      if (r.ok) appendToReply(r.data.text);
    },
    // a knowledge-base snippet goes into the reply; the customer's words are proposed to the
    // article's editors as a question it answers
    "kb-insert"(button) {
      appendToReply(button.dataset.text);
      if (button.dataset.candidates) {
        api("POST", button.dataset.candidates, { case_id: parseInt(button.dataset.caseId, 10) });
      }
    },
    // tags typed into the case header (comma- or space-separated) are added to the case
    async "tag-add"(button) {
      const input = button.parentElement.querySelector("[data-role=tag-input]");
      const add = splitTags(input ? input.value : "");
      if (!add.length) return;
      const r = await api("POST", "/api/v1/cases/" + button.dataset.caseId + "/tags", { add });
      if (!r.ok) { refused(r); return; }
      location.reload();
    },
    // the bulk bar applies its filled fields to every picked case of the queue, all or nothing
    async "bulk-apply"(button) {
      const body = { case_ids: [...picked].map(Number) };
      document.querySelectorAll("[data-role=bulk-field]").forEach((f) => {
        if (!f.value) return;
        if (f.hasAttribute("data-list")) body[f.dataset.field] = splitTags(f.value);
        else body[f.dataset.field] = f.hasAttribute("data-int") ? parseInt(f.value, 10) : f.value;
      });
      button.disabled = true;
      const r = await api("POST", "/api/v1/cases/bulk", body);
      if (!r.ok) {
        button.disabled = false;
        refused(r);
        return;
      }
      picked.clear();
      location.reload();
    },
    // the calculator shows the fields of the chosen kind (kefu.css) and drops the old result
    "calc-kind"(select) {
      select.form.dataset.kind = select.value;
      const out = document.getElementById("calc-out");
      if (out) out.replaceChildren();
    },
  };

  function splitTags(text) {
    return text.split(/[\s,，、]+/).map((x) => x.replace(/^#/, "")).filter(Boolean);
  }

  /* the queue's picks survive its refresh every 20 s (htmx swaps the list) */
  const picked = new Set();
  function showPicks() {
    document.querySelectorAll("[data-role=bulk-pick]").forEach((box) => {
      box.checked = picked.has(box.value);
    });
    const count = document.querySelector("[data-role=bulk-count]");
    if (count) count.textContent = String(picked.size);
  }
  document.addEventListener("change", (e) => {
    const box = e.target.closest("[data-role=bulk-pick]");
    if (!box) return;
    if (box.checked) picked.add(box.value); else picked.delete(box.value);
    showPicks();
  });
  document.body.addEventListener("htmx:afterSwap", showPicks);

  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-api], button[data-action]");
    if (!b || b.disabled) return;
    e.preventDefault();
    if (b.dataset.api) callApi(b);
    else if (actions[b.dataset.action]) actions[b.dataset.action](b);
  });
  document.addEventListener("change", (e) => {
    const s = e.target.closest("select");
    if (!s) return;
    if (s.dataset.api) { if (s.value) callApi(s, s.value); }
    else if (s.dataset.action && actions[s.dataset.action]) actions[s.dataset.action](s);
    else if (s.hasAttribute("data-autosubmit")) s.form.submit();
  });

  /* htmx evaluates no script here (allowEval is off, see base.html): an hx-on handler or a
     trigger filter added to a template would be skipped without a word, so say so loudly */
  document.body.addEventListener("htmx:evalDisallowedError", (e) => {
    console.error("htmx was asked to evaluate script, which the Content-Security-Policy forbids:", e.target);
  });

  /* htmx: send the CSRF token with every request */
  document.body.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = csrf; });
})();
