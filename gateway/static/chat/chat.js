// 企业管家助手 · the enterprise web chat (H5). Speaks docs/chat-protocol.md.
// Everything a person typed is put in the page with textContent, never parsed as HTML.

import { LIGHT_LABELS, beijingParts, el } from "/static/shared/display.js";

const API_SESSION = "/api/chat/session";
const API_MESSAGES = "/api/chat/messages";
const API_WS = "/api/chat/ws";

const SESSION_KEY = "butler.chat.session";
const seqKey = (sender) => `butler.chat.lastSeq.${sender}`;
const historyKey = (sender) => `butler.chat.history.${sender}`;
const stateKey = (sender) => `butler.chat.state.${sender}`;

const MAX_HISTORY = 200; // frames kept in localStorage to redraw the page after a reload
const MAX_TEXT = 2000; // the server refuses longer messages
const PING_MS = 25000;
const POLL_MS = 3000;
const WS_RETRY_IN_HTTP_MODE_MS = 30000;
const FAILURES_BEFORE_HTTP = 3;

const ASPECT_LABELS = {
  overview: "办事指南",
  materials: "申请材料",
  process: "办理流程",
  time_limit: "办理时限",
  fee: "收费标准",
  location: "办理地点",
  contact: "咨询电话",
  online: "网上办理",
  conditions: "受理条件",
};

const STATE_TEXT = {
  bot: "智能助手",
  waiting: "正在为您转接企业管家…",
  butler: "企业管家为您服务",
};

const RATING_SCORES = ["满意", "基本满意", "不满意"];

// ---------------------------------------------------------------- storage

/** localStorage that degrades to memory when the browser refuses it (private mode, quota). */
const memoryStore = new Map();
const store = {
  get(key) {
    try {
      const raw = window.localStorage.getItem(key);
      return raw === null ? null : JSON.parse(raw);
    } catch {
      return memoryStore.has(key) ? memoryStore.get(key) : null;
    }
  },
  set(key, value) {
    memoryStore.set(key, value);
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* memory only */
    }
  },
  remove(key) {
    memoryStore.delete(key);
    try {
      window.localStorage.removeItem(key);
    } catch {
      /* memory only */
    }
  },
};

// ---------------------------------------------------------------- state

const state = {
  session: null, // {token, sender}
  lastSeq: 0,
  rendered: new Set(), // seqs already in the page: a frame is never shown twice
  pending: new Map(), // client id -> {type, text, display, el}
  history: [], // frames as shown, for redrawing after a reload
  buttonTitles: new Map(), // payload -> title, to echo what the user tapped
  ws: null,
  wsOpened: false,
  failures: 0,
  attempt: 0,
  reconnectTimer: 0,
  pingTimer: 0,
  httpMode: false,
  pollTimer: 0,
  wsProbeTimer: 0,
  typingTimer: 0,
  connecting: false,
};

const $messages = document.getElementById("messages");
const $input = document.getElementById("input");
const $send = document.getElementById("send");
const $handoff = document.getElementById("handoff");
const $composer = document.getElementById("composer");
const $banner = document.querySelector(".state-banner");
const $status = document.getElementById("conn-status");
const $typing = document.getElementById("typing");

// ---------------------------------------------------------------- DOM helpers

/** Create an element with a class and plain text; the text is never parsed as HTML. */

/** The href for http(s) links only; anything else (javascript:, data:) is not a link. */
function safeHttpUrl(raw) {
  if (typeof raw !== "string" || !raw.trim()) return null;
  try {
    const url = new URL(raw.trim(), window.location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const URL_PATTERN = /https?:\/\/[^\s，。；、）)】」"'<>]+/g;

/** Append text to a node, turning http(s) addresses into links; all other text stays text. */
function appendLinkified(node, text) {
  const value = String(text ?? "");
  let last = 0;
  for (const match of value.matchAll(URL_PATTERN)) {
    const href = safeHttpUrl(match[0]);
    if (!href) continue;
    if (match.index > last) node.append(document.createTextNode(value.slice(last, match.index)));
    const link = el("a", "link", match[0]);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    node.append(link);
    last = match.index + match[0].length;
  }
  if (last < value.length) node.append(document.createTextNode(value.slice(last)));
  return node;
}

// Deadlines and times are Beijing time wherever the browser is.

function formatTime(iso) {
  const p = beijingParts(iso);
  return p ? `${p.hour}:${p.minute}` : "";
}

function formatDue(iso) {
  const p = beijingParts(iso);
  return p ? `${p.year}年${p.month}月${p.day}日 ${p.hour}:${p.minute}` : String(iso || "");
}

function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function scrollToBottom() {
  $messages.scrollTop = $messages.scrollHeight;
}

function setStatus(status, text) {
  $status.dataset.status = status;
  $status.textContent = text;
}

// ---------------------------------------------------------------- rendering

function isRatingFrame(frame) {
  const custom = frame.custom || {};
  if (custom.kind === "rating") return true;
  return (frame.buttons || []).some((b) => typeof b.payload === "string" && b.payload.startsWith("/rate_ticket"));
}

function ratingButtons(frame) {
  const buttons = (frame.buttons || []).filter((b) => b && typeof b.payload === "string");
  if (buttons.length) return buttons;
  const number = (frame.custom || {}).ticket_number || "";
  return RATING_SCORES.map((score) => ({
    title: score,
    payload: `/rate_ticket${JSON.stringify({ ticket_number: number, rating_score: score })}`,
  }));
}

/** A row of tappable chips; tapping sends the payload and echoes the title. */
function renderChips(buttons, frame, { once = false } = {}) {
  const row = el("div", "chips");
  for (const button of buttons) {
    if (!button || typeof button.payload !== "string") continue;
    const title = button.title || button.payload;
    state.buttonTitles.set(button.payload, title);
    const chip = el("button", "chip", title);
    chip.type = "button";
    chip.dataset.payload = button.payload;
    if (frame && frame._chosen === button.payload) chip.classList.add("chosen");
    if (once && frame && frame._chosen) chip.disabled = true;
    chip.addEventListener("click", () => {
      if (once) {
        for (const other of row.querySelectorAll(".chip")) other.disabled = true;
        chip.classList.add("chosen");
        if (frame) {
          frame._chosen = button.payload;
          saveHistory();
        }
      }
      sendMessage(button.payload, title);
    });
    row.append(chip);
  }
  return row;
}

function definitionRow(list, term, value) {
  if (value === undefined || value === null || value === "") return;
  const row = el("div", "row");
  row.append(el("dt", "", term));
  const dd = el("dd");
  if (value instanceof Node) dd.append(value);
  else appendLinkified(dd, value);
  row.append(dd);
  list.append(row);
}

function timeLimitText(custom) {
  if (typeof custom.time_limit === "string") return custom.time_limit;
  const unit = (n, u) => (n === undefined || n === null || n === "" ? "" : `${n}${u || ""}`);
  const legal = unit(custom.legal_time_limit, custom.legal_time_unit);
  const promised = unit(custom.promised_time_limit, custom.promised_time_unit);
  const parts = [];
  if (legal) parts.push(`法定办结时限：${legal}`);
  if (promised) parts.push(`承诺办结时限：${promised}`);
  return parts.join("；");
}

function renderMaterials(materials) {
  const list = el("ol", "materials");
  for (const item of materials) {
    const li = el("li", "material");
    if (typeof item === "string") {
      li.textContent = item;
    } else if (item && typeof item === "object") {
      li.append(el("span", "material-name", item.name || ""));
      const meta = [item.form, item.copies ? `${item.copies}份` : "", item.requirement].filter(Boolean);
      if (meta.length) li.append(el("span", "material-meta", `（${meta.join("，")}）`));
      const notes = item.notes || item.note;
      if (notes) li.append(el("div", "material-note", notes));
    }
    list.append(li);
  }
  return list;
}

function renderSteps(steps) {
  const list = el("ol", "steps");
  for (const step of steps) {
    const li = el("li", "step");
    if (typeof step === "string") li.textContent = step;
    else if (step && typeof step === "object") {
      li.append(el("span", "step-name", step.name || ""));
      if (step.description) li.append(el("div", "step-desc", step.description));
    }
    list.append(li);
  }
  return list;
}

/** The guide card: structured fields when the reply carries them, else the answer's lines. */
function renderGuideCard(custom, text) {
  const card = el("div", "card guide-card");
  if (custom.guide_id) card.dataset.guideId = String(custom.guide_id);
  if (custom.aspect) card.dataset.aspect = String(custom.aspect);
  const head = el("div", "card-head");
  head.append(el("h3", "guide-name", custom.guide_name || "办事指南"));
  head.append(el("span", "guide-aspect", ASPECT_LABELS[custom.aspect] || custom.aspect_label || "办事指南"));
  card.append(head);

  const structured =
    Array.isArray(custom.materials) ||
    Array.isArray(custom.steps) ||
    custom.fee ||
    custom.location ||
    custom.place ||
    custom.online_url ||
    custom.time_limit;
  const lines = String(text || "")
    .split("\n")
    .filter((line) => line.trim() !== "");
  if (lines.length && lines[0].startsWith("【")) lines.shift(); // the title is in the card head
  const sourceLines = lines.filter((line) => line.startsWith("来源："));

  if (structured) {
    if (Array.isArray(custom.materials) && custom.materials.length) {
      card.append(el("h4", "section-title", "申请材料"));
      card.append(renderMaterials(custom.materials));
    }
    if (Array.isArray(custom.steps) && custom.steps.length) {
      card.append(el("h4", "section-title", "办理流程"));
      card.append(renderSteps(custom.steps));
    }
    const facts = el("dl", "facts");
    definitionRow(facts, "办理时限", timeLimitText(custom));
    definitionRow(facts, "收费标准", custom.fee);
    definitionRow(facts, "办理地点", custom.location || custom.place);
    definitionRow(facts, "办理时间", custom.hours);
    definitionRow(facts, "咨询电话", custom.phone);
    const href = safeHttpUrl(custom.online_url);
    if (href) {
      const link = el("a", "online-link", "在线办理");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      definitionRow(facts, "网上办理", link);
    } else if (custom.online_url) {
      definitionRow(facts, "网上办理", String(custom.online_url));
    }
    if (facts.childElementCount) card.append(facts);
  } else {
    // The answer text: numbered lines become a list (materials or steps), the rest paragraphs.
    const body = el("div", "guide-body");
    let list = null;
    for (const line of lines) {
      if (line.startsWith("来源：")) continue;
      const numbered = /^\s*\d+[.、．]\s*/.exec(line);
      if (numbered) {
        if (!list) {
          list = el("ol", custom.aspect === "process" ? "steps" : "materials");
          body.append(list);
        }
        const li = el("li", custom.aspect === "process" ? "step" : "material");
        const content = line.slice(numbered[0].length);
        const split = content.indexOf("：");
        if (split > 0 && custom.aspect !== "process") {
          li.append(el("span", "material-name", content.slice(0, split)));
          appendLinkified(li.appendChild(el("div", "material-note")), content.slice(split + 1));
        } else {
          appendLinkified(li, content);
        }
        list.append(li);
      } else {
        list = null;
        const heading = /^([^：:]{2,10})[：:]\s*$/.exec(line);
        // "收费标准：不收费" (or "法定办结时限：…；承诺办结时限：…") reads best as labelled rows
        const facts = line.split("；").map((part) => /^([^：:]{2,8})：(.+)$/.exec(part.trim()));
        if (heading) {
          body.append(el("h4", "section-title", heading[1]));
        } else if (facts.every(Boolean)) {
          let rows = body.lastElementChild;
          if (!rows || !rows.classList.contains("facts")) {
            rows = el("dl", "facts");
            body.append(rows);
          }
          for (const fact of facts) definitionRow(rows, fact[1], fact[2]);
        } else {
          body.append(appendLinkified(el("p", "guide-line"), line));
        }
      }
    }
    card.append(body);
  }
  for (const line of sourceLines) card.append(el("p", "guide-source", line));
  if (Array.isArray(custom.alternatives) && custom.alternatives.length) {
    card.dataset.alternatives = String(custom.alternatives.length);
  }
  return card;
}

function renderLight(light, label) {
  const wrap = el("span", "light-wrap");
  const dot = el("span", "light");
  const value = ["green", "yellow", "red", "done"].includes(light) ? light : "unknown";
  dot.dataset.light = value;
  dot.setAttribute("role", "img");
  dot.setAttribute("aria-label", LIGHT_LABELS[value] || "未知");
  wrap.append(dot, el("span", "light-text", LIGHT_LABELS[value] || ""));
  if (label) wrap.append(el("span", "light-label", label));
  return wrap;
}

function renderTicketCard(custom) {
  const card = el("div", "card ticket-card");
  if (custom.number) card.dataset.number = String(custom.number);
  const head = el("div", "card-head");
  head.append(el("h3", "ticket-number", `工单 ${custom.number || ""}`));
  head.append(el("span", "ticket-status", custom.status_label || custom.status || ""));
  if (custom.status) head.lastChild.dataset.status = String(custom.status);
  card.append(head);
  const facts = el("dl", "facts");
  definitionRow(facts, "诉求类别", custom.category);
  if (custom.butler_name || custom.butler_phone) {
    const who = el("span", "butler");
    who.append(el("span", "butler-name", custom.butler_name || ""));
    const phone = String(custom.butler_phone || "");
    if (phone) {
      who.append(document.createTextNode(" "));
      if (/^[0-9+\- ]{3,20}$/.test(phone)) {
        const tel = el("a", "butler-phone", phone);
        tel.href = `tel:${phone.replace(/[^0-9+]/g, "")}`;
        who.append(tel);
      } else who.append(el("span", "butler-phone", phone));
    }
    definitionRow(facts, "企业管家", who);
  }
  const deadline = custom.current_deadline;
  if (deadline && typeof deadline === "object") {
    const value = el("span", "deadline");
    value.append(renderLight(deadline.light, ""));
    value.append(el("span", "deadline-text", `${deadline.label || "时限"}：${formatDue(deadline.due)}前`));
    definitionRow(facts, "当前时限", value);
  }
  card.append(facts);
  if (custom.awaiting_rating) card.append(el("p", "ticket-hint", "管家已反馈办理结果，请您评价。"));
  return card;
}

function renderRatingCard(frame) {
  const card = el("div", "card rating-card");
  const number = (frame.custom || {}).ticket_number;
  if (number) card.dataset.number = String(number);
  card.append(el("h3", "card-title", "请您评价办理结果"));
  card.append(renderChips(ratingButtons(frame), frame, { once: true }));
  return card;
}

function enterpriseDisplay(frame) {
  if (frame._display) return frame._display;
  const text = String(frame.text ?? "");
  if (text.startsWith("/") && state.buttonTitles.has(text)) return state.buttonTitles.get(text);
  return text;
}

/** One message element for a frame (or a local pending message). */
function buildMessage(frame) {
  const from = ["bot", "butler", "system", "enterprise"].includes(frame.from) ? frame.from : "system";
  const node = el("div", "msg");
  node.dataset.from = from;
  if (frame.seq !== undefined && frame.seq !== null) node.dataset.seq = String(frame.seq);
  if (frame.reply_to && from === "enterprise") node.dataset.clientId = String(frame.reply_to);
  const custom = frame.custom && typeof frame.custom === "object" ? frame.custom : null;
  if (custom && custom.kind) node.dataset.kind = String(custom.kind);

  if (from === "butler") {
    node.append(el("span", "author-badge", `企业管家${frame.author ? " · " + frame.author : ""}`));
  } else if (from === "bot") {
    node.append(el("span", "author-badge bot-badge", "智能助手"));
  }

  const kind = custom ? custom.kind : null;
  const text = from === "enterprise" ? enterpriseDisplay(frame) : String(frame.text ?? "");
  const bubble = el("div", "bubble");
  if (kind === "guide") {
    bubble.classList.add("has-card");
    bubble.append(renderGuideCard(custom, text));
  } else {
    if (text) appendLinkified(bubble.appendChild(el("div", "text")), text);
    if (kind === "ticket") bubble.append(renderTicketCard(custom));
    if (kind === "handoff") {
      node.classList.add("handoff-notice");
      if (!text) bubble.append(el("div", "notice", "正在为您转接企业管家…"));
    }
  }
  node.append(bubble);

  if (isRatingFrame(frame)) {
    node.dataset.kind = "rating";
    node.append(renderRatingCard(frame));
  } else if (Array.isArray(frame.buttons) && frame.buttons.length) {
    node.append(renderChips(frame.buttons, frame));
  }
  if (kind === "no_answer" && !(Array.isArray(frame.buttons) && frame.buttons.length)) {
    const row = el("div", "chips");
    const chip = el("button", "chip chip-handoff", "联系管家");
    chip.type = "button";
    chip.addEventListener("click", requestHandoff);
    row.append(chip);
    node.append(row);
  }
  const meta = el("div", "meta");
  meta.append(el("span", "time", formatTime(frame.at)));
  meta.append(el("span", "send-state"));
  node.append(meta);
  return node;
}

/** Insert in seq order; local messages still waiting for their seq stay at the end. */
function insertMessage(node, seq) {
  if (seq !== undefined && seq !== null) {
    for (const child of $messages.children) {
      if (child.classList.contains("pending") || (child.dataset.seq !== undefined && Number(child.dataset.seq) > seq)) {
        $messages.insertBefore(node, child);
        return;
      }
    }
  }
  $messages.append(node);
}

function saveHistory() {
  if (!state.session) return;
  if (state.history.length > MAX_HISTORY) state.history = state.history.slice(-MAX_HISTORY);
  store.set(historyKey(state.session.sender), state.history);
}

function setLastSeq(seq) {
  if (!state.session || typeof seq !== "number" || seq <= state.lastSeq) return;
  state.lastSeq = seq;
  store.set(seqKey(state.session.sender), seq);
}

function markSent(node, seq) {
  node.classList.remove("pending", "failed");
  if (seq !== undefined && seq !== null) node.dataset.seq = String(seq);
  const sendState = node.querySelector(".send-state");
  if (sendState) sendState.textContent = "";
}

/** Show a conversation frame once: by seq, and by client id for our own echoed messages. */
function showFrame(frame, { fromHistory = false } = {}) {
  const seq = typeof frame.seq === "number" ? frame.seq : null;
  if (seq !== null) {
    setLastSeq(seq);
    if (state.rendered.has(seq)) return;
    state.rendered.add(seq);
  }
  if (frame.from === "enterprise" && frame.reply_to) {
    const pending = state.pending.get(frame.reply_to);
    if (pending) {
      frame._display = pending.display;
      state.pending.delete(frame.reply_to);
      if (pending.el) {
        markSent(pending.el, seq);
        if (pending.el.parentNode) {
          pending.el.remove();
          insertMessage(pending.el, seq);
        }
        if (!fromHistory) {
          state.history.push(frame);
          saveHistory();
        }
        updateComposer();
        return;
      }
    }
    const existing = $messages.querySelector(`.msg[data-client-id="${CSS.escape(frame.reply_to)}"]`);
    if (existing) {
      markSent(existing, seq);
      return;
    }
  }
  const node = buildMessage(frame);
  insertMessage(node, seq);
  if (!fromHistory) {
    state.history.push(frame);
    saveHistory();
  }
  scrollToBottom();
}

function showLocalNotice(text) {
  const node = el("div", "msg local-notice");
  node.dataset.from = "system";
  node.append(el("div", "bubble", text));
  $messages.append(node);
  scrollToBottom();
}

function setBanner(chatState, butler, text) {
  const value = ["bot", "waiting", "butler"].includes(chatState) ? chatState : "bot";
  let label = text;
  if (!label) {
    if (value === "butler" && butler) label = `企业管家${butler}为您服务`;
    else label = STATE_TEXT[value];
  }
  $banner.dataset.state = value;
  $banner.textContent = label;
  $handoff.disabled = value !== "bot";
  $handoff.textContent = value === "bot" ? "联系管家" : value === "waiting" ? "转接中…" : "管家服务中";
  if (state.session) store.set(stateKey(state.session.sender), { state: value, butler, text: label });
}

// ---------------------------------------------------------------- sending

function updateComposer() {
  $send.disabled = !$input.value.trim();
}

function sendFrame(payload) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(payload));
    return true;
  }
  return false;
}

async function postMessage(payload) {
  const body = payload.type === "handoff" ? { id: payload.id, type: "handoff" } : { id: payload.id, text: payload.text };
  const data = await http("POST", API_MESSAGES, body);
  applyHttpAnswer(data);
  if (data && data.ack && typeof data.ack === "object") handleServerFrame({ type: "ack", ...data.ack, id: payload.id });
  const pending = state.pending.get(payload.id);
  if (pending) {
    // stored by the server even when no echo came back in this answer
    state.pending.delete(payload.id);
    if (pending.el) markSent(pending.el, null);
  }
  // without a socket no state frame comes: the accepted request itself says a person is being found
  if (payload.type === "handoff" && $banner.dataset.state === "bot") setBanner("waiting", null, "");
}

/** Frames (and the state, when the server includes it) from an HTTP fallback answer. */
function applyHttpAnswer(data) {
  if (!data) return;
  if (Array.isArray(data.frames)) {
    for (const frame of data.frames) {
      handleServerFrame(frame);
      // no state frames over HTTP: a butler's message means a butler is serving
      if (state.httpMode && frame.type === "message" && frame.from === "butler" && $banner.dataset.state !== "butler") {
        setBanner("butler", frame.author || null, "");
      }
    }
  }
  if (data.state && typeof data.state === "object" && data.state.state) {
    setBanner(data.state.state, data.state.butler, data.state.text);
  } else if (typeof data.state === "string") {
    setBanner(data.state, data.butler || null, "");
  }
}

/** Send through the open socket, else over HTTP in fallback mode, else keep it for the next connect. */
function transmit(payload) {
  if (sendFrame(payload)) return;
  if (state.httpMode) {
    postMessage(payload).catch((error) => failPending(payload.id, error.message || "发送失败，请稍后重试"));
  }
}

function failPending(id, reason) {
  const pending = state.pending.get(id);
  if (!pending) return;
  state.pending.delete(id);
  if (pending.type === "handoff") $handoff.disabled = $banner.dataset.state !== "bot";
  if (pending.el) {
    pending.el.classList.remove("pending");
    pending.el.classList.add("failed");
    const sendState = pending.el.querySelector(".send-state");
    if (sendState) {
      sendState.textContent = "";
      sendState.append(el("span", "fail-reason", reason));
      const retry = el("button", "retry", "重试");
      retry.type = "button";
      retry.addEventListener("click", () => {
        pending.el.remove();
        sendMessage(pending.text, pending.display);
      });
      sendState.append(retry);
    }
  } else {
    showLocalNotice(reason);
  }
}

function sendMessage(text, display) {
  const value = String(text ?? "");
  if (!value.trim()) return;
  if (value.length > MAX_TEXT) {
    showLocalNotice(`消息太长了，请控制在${MAX_TEXT}字以内。`);
    return;
  }
  const id = newClientId();
  const shown = display || value;
  const node = buildMessage({ from: "enterprise", text: shown, reply_to: id, at: new Date().toISOString() });
  node.classList.add("pending");
  node.querySelector(".send-state").textContent = "发送中…";
  $messages.append(node);
  scrollToBottom();
  state.pending.set(id, { type: "message", text: value, display: shown, el: node });
  transmit({ type: "message", id, text: value });
}

function requestHandoff() {
  const id = newClientId();
  state.pending.set(id, { type: "handoff", text: "联系管家", display: "联系管家", el: null });
  $handoff.disabled = true;
  transmit({ type: "handoff", id });
  if (!state.ws && !state.httpMode) showLocalNotice("网络连接中，连接后将为您转接企业管家。");
}

function flushPending() {
  for (const [id, pending] of state.pending) {
    if (pending.type === "handoff") sendFrame({ type: "handoff", id });
    else sendFrame({ type: "message", id, text: pending.text });
  }
}

// ---------------------------------------------------------------- server frames

function handleServerFrame(frame) {
  if (!frame || typeof frame !== "object") return;
  switch (frame.type) {
    case "message":
      showFrame(frame);
      if (frame.from === "butler") $typing.hidden = true;
      break;
    case "ack": {
      const pending = state.pending.get(frame.id);
      if (!pending) break;
      state.pending.delete(frame.id);
      if (pending.type === "handoff") {
        // the state frame normally follows; never leave the button dead if it does not
        setTimeout(() => {
          if ($banner.dataset.state === "bot") $handoff.disabled = false;
        }, 5000);
      }
      if (pending.el) {
        if (typeof frame.seq === "number") state.rendered.add(frame.seq);
        markSent(pending.el, frame.seq);
        state.history.push({
          type: "message",
          seq: frame.seq,
          from: "enterprise",
          text: pending.text,
          reply_to: frame.id,
          at: new Date().toISOString(),
          _display: pending.display,
        });
        saveHistory();
      }
      break;
    }
    case "state":
      setBanner(frame.state, frame.butler, frame.text);
      break;
    case "typing":
      $typing.hidden = false;
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => {
        $typing.hidden = true;
      }, 4000);
      break;
    case "error":
      if (frame.id && state.pending.has(frame.id)) failPending(frame.id, frame.text || "发送失败");
      else showLocalNotice(frame.text || "出错了，请稍后再试。");
      break;
    case "pong":
    default:
      break;
  }
}

// ---------------------------------------------------------------- HTTP

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function http(method, url, body) {
  const headers = { Accept: "application/json" };
  if (state.session) headers.Authorization = `Bearer ${state.session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new HttpError(0, "网络不可用，请检查网络连接。");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.message) || `请求失败（${response.status}）`;
    throw new HttpError(response.status, message);
  }
  return data;
}

// ---------------------------------------------------------------- session

function loadConversation(session) {
  state.session = session;
  state.lastSeq = Number(store.get(seqKey(session.sender))) || 0;
  state.rendered.clear();
  const history = store.get(historyKey(session.sender));
  state.history = Array.isArray(history) ? history : [];
  $messages.textContent = "";
  for (const frame of state.history) showFrame(frame, { fromHistory: true });
  const saved = store.get(stateKey(session.sender));
  if (saved && saved.state) setBanner(saved.state, saved.butler, saved.text);
  if (!state.history.length) showWelcome();
  scrollToBottom();
}

function showWelcome() {
  const node = el("div", "msg welcome");
  node.dataset.from = "system";
  node.append(
    el(
      "div",
      "bubble",
      "您好！我是企业管家助手，可以为您解答办事指南（材料、流程、时限、收费、地点），也可以受理企业诉求。需要人工服务请点“联系管家”。",
    ),
  );
  $messages.append(node);
}

async function ensureSession() {
  const saved = store.get(SESSION_KEY);
  if (saved && typeof saved.token === "string" && typeof saved.sender === "string") {
    if (!state.session || state.session.token !== saved.token) loadConversation(saved);
    return state.session;
  }
  const previous = state.session;
  state.session = null;
  const data = await http("POST", API_SESSION, {});
  if (!data || typeof data.token !== "string" || typeof data.sender !== "string") {
    throw new HttpError(0, "无法建立会话，请稍后重试。");
  }
  const session = { token: data.token, sender: data.sender };
  store.set(SESSION_KEY, session);
  if (previous) {
    store.remove(seqKey(previous.sender));
    store.remove(historyKey(previous.sender));
    store.remove(stateKey(previous.sender));
  }
  loadConversation(session);
  return session;
}

function dropSession() {
  store.remove(SESSION_KEY);
}

// ---------------------------------------------------------------- connection

function backoffDelay() {
  const base = Math.min(30000, 1000 * 2 ** Math.min(state.attempt, 5));
  state.attempt += 1;
  return base / 2 + Math.random() * (base / 2);
}

function scheduleReconnect(delay) {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = setTimeout(connect, delay ?? backoffDelay());
}

async function connect() {
  clearTimeout(state.reconnectTimer);
  if (state.connecting || (state.ws && state.ws.readyState <= WebSocket.OPEN)) return;
  state.connecting = true;
  try {
    await ensureSession();
  } catch (error) {
    state.connecting = false;
    setStatus("offline", "连接失败，正在重试…");
    scheduleReconnect();
    return;
  }
  state.connecting = false;
  if (typeof window.WebSocket !== "function") {
    startHttpMode();
    return;
  }
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${window.location.host}${API_WS}?token=${encodeURIComponent(state.session.token)}`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    startHttpMode();
    return;
  }
  state.ws = ws;
  state.wsOpened = false;
  if (!state.httpMode) setStatus("connecting", "连接中…");
  ws.addEventListener("open", () => {
    state.wsOpened = true;
    state.failures = 0;
    state.attempt = 0;
    stopHttpMode();
    setStatus("online", "在线");
    ws.send(JSON.stringify({ type: "resume", after_seq: state.lastSeq }));
    flushPending();
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => sendFrame({ type: "ping" }), PING_MS);
  });
  ws.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    handleServerFrame(frame);
  });
  ws.addEventListener("close", () => {
    clearInterval(state.pingTimer);
    if (state.ws === ws) state.ws = null;
    onSocketLost(state.wsOpened);
  });
}

/** After a socket closes: check the token over HTTP (which also fetches what we missed), then retry. */
async function onSocketLost(wasOpen) {
  if (!wasOpen) state.failures += 1;
  if (!state.httpMode) setStatus("offline", "连接已断开，正在重连…");
  try {
    await pollOnce();
  } catch (error) {
    if (error.status === 401) {
      dropSession();
      showLocalNotice("会话已过期，已为您开启新的会话。");
      scheduleReconnect(500);
      return;
    }
    scheduleReconnect();
    return;
  }
  // HTTP works but the socket does not: use the HTTP fallback and try the socket now and then.
  if (state.failures >= FAILURES_BEFORE_HTTP) {
    startHttpMode();
    scheduleReconnect(WS_RETRY_IN_HTTP_MODE_MS);
    return;
  }
  scheduleReconnect();
}

async function pollOnce() {
  if (!state.session) return;
  const data = await http("GET", `${API_MESSAGES}?after_seq=${encodeURIComponent(state.lastSeq)}`);
  applyHttpAnswer(data);
}

function startHttpMode() {
  if (state.httpMode) return;
  state.httpMode = true;
  setStatus("fallback", "在线（兼容模式）");
  const pending = Array.from(state.pending.entries());
  for (const [id, item] of pending) {
    const payload = item.type === "handoff" ? { type: "handoff", id } : { type: "message", id, text: item.text };
    postMessage(payload).catch((error) => failPending(id, error.message || "发送失败"));
  }
  const tick = async () => {
    if (!state.httpMode) return;
    try {
      await pollOnce();
    } catch (error) {
      if (error.status === 401) {
        dropSession();
        stopHttpMode();
        scheduleReconnect(500);
        return;
      }
    }
    state.pollTimer = setTimeout(tick, POLL_MS);
  };
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(tick, POLL_MS);
}

function stopHttpMode() {
  state.httpMode = false;
  clearTimeout(state.pollTimer);
}

// ---------------------------------------------------------------- wiring

$composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $input.value.trim();
  if (!text) return;
  $input.value = "";
  autosize();
  updateComposer();
  sendMessage(text);
});

$input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $composer.requestSubmit();
  }
});

function autosize() {
  $input.style.height = "auto";
  $input.style.height = `${Math.min($input.scrollHeight, 120)}px`;
}

$input.addEventListener("input", () => {
  autosize();
  updateComposer();
});

$handoff.addEventListener("click", requestHandoff);

window.addEventListener("online", () => {
  state.attempt = 0;
  connect();
});

updateComposer();
connect();
