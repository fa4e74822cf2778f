// 企业管家工作台 · the butler console. Speaks docs/console-api.md.
// Everything a person typed is put in the page with textContent, never parsed as HTML.

import { LIGHT_LABELS, beijingParts, el } from "/static/shared/display.js";

const API = "/api/console";
const WS_PATH = "/api/console/ws";

const STATE_LABELS = { bot: "智能助手接待中", waiting: "等待接入", butler: "管家服务中" };
const FROM_LABELS = { enterprise: "企业", bot: "智能助手", butler: "企业管家", system: "系统", note: "内部备注" };
const LIGHT_STAGES = [
  ["contact", "联系"],
  ["answer", "答复"],
  ["resolve", "办结"],
];
const REASON_LABELS = {
  requested: "企业要求人工服务",
  request: "企业要求人工服务",
  asked: "企业要求人工服务",
  enterprise_request: "企业要求人工服务",
  handoff_button: "企业点击联系管家",
  no_answer: "助手连续两次未能回答",
  unanswered: "助手连续两次未能回答",
  bot_failed: "助手连续两次未能回答",
  take_over: "管家主动接管",
  takeover: "管家主动接管",
  urgent_ticket: "企业提交了紧急诉求",
  urgent: "企业提交了紧急诉求",
  transfer: "其他管家转交",
  transferred: "其他管家转交",
  idle: "管家长时间未回复，已交还助手",
};
const EVENT_LABELS = {
  submit: "提交诉求",
  create: "受理工单",
  route: "派单",
  contact: "联系企业",
  reply: "答复企业",
  answer: "办结反馈",
  rate: "企业评价",
  reopen: "评价不满意并重新办理",
  close: "关闭工单",
  assign: "改派管家",
  transfer: "转交",
  escalate: "升级督办",
  note: "备注",
};
const KIND_LABELS = {
  choose_guide: "请企业点选事项",
  handoff: "转人工",
  no_answer: "助手未能回答",
  rating: "请企业评价",
};
// why a closed-loop action is greyed out (the server refuses it in this status anyway)
const ACTION_HINTS = {
  contact: "只有刚受理的工单需要登记首次联系",
  reply: "已反馈或已办结的工单不能再答复，请添加备注",
  answer: "请先记录联系或给出初步答复，再标记办结",
  assign: "已办结的工单不能转交",
  note: "当前状态不能添加备注",
};
function actionHint(action, status) {
  if (status === "closed") return "工单已办结";
  if (status === "answered" && action !== "assign") return "已反馈办理结果，正在等待企业评价";
  return ACTION_HINTS[action] || "当前状态不能执行此操作";
}
const TOAST_MS = 7000;

// ---------------------------------------------------------------- state

const S = {
  user: null,
  csrf: null,
  view: "conversations",
  waiting: [],
  mine: [],
  convById: new Map(),
  selectedConv: null, // conversation id
  selectedConvData: null,
  transcriptSeqs: new Set(),
  payloadTitles: new Map(),
  butlers: null,
  canned: null,
  tickets: [],
  selectedTicket: null, // ticket number
  ticketDetail: null,
  inflight: new Set(),
  replyAttempt: null, // {text, conv, note, id} of a reply whose answer never came
  ws: null,
  wsAttempt: 0,
  wsTimer: 0,
  wsWanted: false,
  badges: { conversations: 0, tickets: 0 },
  refreshTimers: {},
  listPane: "waiting",
};

const $ = (id) => document.getElementById(id);

function newId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------- DOM helpers

/** Create an element with a class and plain text; the text is never parsed as HTML. */

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// Deadlines and times are Beijing time wherever the browser is.

function formatDateTime(iso) {
  const p = beijingParts(iso);
  return p ? `${p.month}月${p.day}日 ${p.hour}:${p.minute}` : String(iso || "");
}

function formatTime(iso) {
  const p = beijingParts(iso);
  if (!p) return "";
  const today = beijingParts(new Date().toISOString());
  if (today && p.year === today.year && p.month === today.month && p.day === today.day) return `${p.hour}:${p.minute}`;
  return formatDateTime(iso);
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}分${pad(s % 60)}秒`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}小时${pad(m % 60)}分`;
  return `${Math.floor(h / 24)}天${h % 24}小时`;
}

function reasonLabel(reason) {
  if (!reason) return "";
  return REASON_LABELS[reason] || reason;
}

function lightDot(light, stage) {
  const value = ["green", "yellow", "red", "done"].includes(light) ? light : "unknown";
  const wrap = el("span", "light-item");
  wrap.dataset.stage = stage || "";
  wrap.dataset.light = value;
  const dot = el("span", "light");
  dot.dataset.light = value;
  dot.setAttribute("aria-hidden", "true");
  const label = LIGHT_STAGES.find(([key]) => key === stage);
  wrap.append(dot, el("span", "light-text", `${label ? label[1] : ""}${label ? "·" : ""}${LIGHT_LABELS[value] || "未知"}`));
  wrap.title = wrap.textContent;
  return wrap;
}

// ---------------------------------------------------------------- toasts

function toast(text, { kind = "info", onClick = null } = {}) {
  const box = $("toasts");
  const node = el("div", "toast", text);
  node.dataset.kind = kind;
  node.setAttribute("role", kind === "error" ? "alert" : "status");
  if (onClick) {
    node.classList.add("clickable");
    node.tabIndex = 0;
    node.addEventListener("click", () => {
      onClick();
      node.remove();
    });
  }
  const close = el("button", "toast-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "关闭");
  close.addEventListener("click", (event) => {
    event.stopPropagation();
    node.remove();
  });
  node.append(close);
  box.append(node);
  while (box.childElementCount > 3) box.firstElementChild.remove();
  const ms = kind === "error" ? TOAST_MS * 1.5 : kind === "success" ? TOAST_MS / 2 : TOAST_MS;
  setTimeout(() => node.remove(), ms);
}

function bumpBadge(view) {
  if (S.view === view && !document.hidden) return;
  S.badges[view] += 1;
  renderBadges();
}

function renderBadges() {
  for (const view of ["conversations", "tickets"]) {
    const badge = document.querySelector(`#tab-${view} .badge`);
    const count = S.badges[view];
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? "99+" : String(count);
  }
}

// ---------------------------------------------------------------- HTTP

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One JSON call; POSTs carry the CSRF token; a 401 sends the user back to the log-in form. */
async function api(method, path, body, { loginOn401 = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && S.csrf) headers["X-CSRF-Token"] = S.csrf;
  let response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "网络连接失败，请检查网络后重试。");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.message) || `操作失败（${response.status}）`;
    if (response.status === 401 && loginOn401) showLogin("登录已过期，请重新登录。");
    throw new ApiError(response.status, (data && data.error) || "", message);
  }
  return data || {};
}

/** Run fn once at a time per key, with the button disabled meanwhile: a double click sends once. */
async function once(key, button, fn) {
  if (S.inflight.has(key)) return undefined;
  S.inflight.add(key);
  const wasDisabled = button ? button.disabled : false;
  if (button) {
    button.disabled = true;
    button.classList.add("busy");
  }
  try {
    return await fn();
  } finally {
    S.inflight.delete(key);
    if (button) {
      button.classList.remove("busy");
      button.disabled = wasDisabled;
    }
  }
}

// ---------------------------------------------------------------- log-in

function showLogin(message) {
  S.user = null;
  S.csrf = null;
  stopLive();
  $("app").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("login-submit").disabled = false;
  $("login-password").value = "";
  $("login-username").focus();
}

function showApp() {
  $("login-view").hidden = true;
  $("app").hidden = false;
  const user = S.user || {};
  const roles = { butler: "企业管家", head: "部门负责人", admin: "管理员" };
  $("me-name").textContent = `${user.display_name || user.username || ""}（${roles[user.role] || user.role || ""}）`;
  switchView(S.view);
  refreshConversations();
  loadTickets();
  startLive();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  if (!username || !password) {
    $("login-error").textContent = "请输入用户名和密码。";
    return;
  }
  $("login-error").textContent = "";
  await once("login", $("login-submit"), async () => {
    try {
      const data = await api("POST", "/login", { username, password }, { loginOn401: false });
      S.csrf = data.csrf_token;
      S.user = data.user || { username };
      if (!data.user) await restoreSession();
      $("login-password").value = "";
      showApp();
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  });
});

$("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/logout", {});
  } catch {
    /* the session is gone either way */
  }
  showLogin("您已退出登录。");
});

async function restoreSession() {
  const data = await api("GET", "/me", undefined, { loginOn401: false });
  S.user = data.user;
  S.csrf = data.csrf_token;
  return data;
}

// ---------------------------------------------------------------- views

function switchView(view) {
  S.view = view;
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab.dataset.view === view;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  $("view-conversations").hidden = view !== "conversations";
  $("view-tickets").hidden = view !== "tickets";
  $("view-enterprises").hidden = view !== "enterprises";
  if (view === "enterprises") {
    loadEnterprises();
    return;
  }
  S.badges[view] = 0;
  renderBadges();
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => switchView(tab.dataset.view));
}

for (const back of document.querySelectorAll("[data-back]")) {
  back.addEventListener("click", () => {
    $(`view-${back.dataset.back}`).classList.remove("show-detail");
  });
}

function setListPane(list) {
  S.listPane = list;
  for (const tab of document.querySelectorAll(".pane-tab")) tab.classList.toggle("active", tab.dataset.list === list);
  for (const section of document.querySelectorAll(".list-section")) {
    section.classList.toggle("active", section.dataset.list === list);
  }
}
for (const tab of document.querySelectorAll(".pane-tab")) {
  tab.addEventListener("click", () => setListPane(tab.dataset.list));
}
setListPane("waiting");

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && S.user) {
    S.badges[S.view] = 0;
    renderBadges();
  }
});

// ---------------------------------------------------------------- conversations

function debounce(key, fn, ms = 300) {
  clearTimeout(S.refreshTimers[key]);
  S.refreshTimers[key] = setTimeout(fn, ms);
}

/** Butlers see their own live conversations; heads and administrators every live one they may see. */
function liveFilter() {
  return S.user && (S.user.role === "head" || S.user.role === "admin") ? "butler" : "mine";
}

async function refreshConversations() {
  const label = liveFilter() === "mine" ? "我的会话" : "进行中的会话";
  for (const node of document.querySelectorAll(".mine-label")) node.textContent = label;
  try {
    const [waiting, mine] = await Promise.all([
      api("GET", "/conversations?state=waiting"),
      api("GET", `/conversations?state=${liveFilter()}`),
    ]);
    const fetchedAt = Date.now();
    S.waiting = (waiting.conversations || []).map((c) => ({ ...c, _fetchedAt: fetchedAt }));
    S.mine = (mine.conversations || []).map((c) => ({ ...c, _fetchedAt: fetchedAt }));
    S.waiting.sort((a, b) => (b.wait_seconds || 0) - (a.wait_seconds || 0));
    S.convById.clear();
    for (const c of [...S.mine, ...S.waiting]) S.convById.set(c.id, c);
    renderConversationLists();
  } catch (error) {
    if (error.status !== 401) toast(`会话列表加载失败：${error.message}`, { kind: "error" });
  }
}

function waitSeconds(conv) {
  if (typeof conv.wait_seconds === "number") return conv.wait_seconds + (Date.now() - (conv._fetchedAt || Date.now())) / 1000;
  if (conv.waiting_since) {
    const since = Date.parse(conv.waiting_since);
    if (!Number.isNaN(since)) return (Date.now() - since) / 1000;
  }
  return null;
}

function messagePreview(frame) {
  const who = frame.from === "butler" && frame.author ? frame.author : FROM_LABELS[frame.from] || "";
  let text = String(frame.text ?? "");
  if (text.startsWith("/") && S.payloadTitles.has(text)) text = S.payloadTitles.get(text);
  return `${who}：${text.replace(/\s+/g, " ")}`;
}

function convItem(conv) {
  const item = el("li", "conv-item");
  item.dataset.sender = String(conv.sender || "");
  item.dataset.id = String(conv.id);
  item.dataset.state = String(conv.state || "");
  item.tabIndex = 0;
  item.setAttribute("role", "button");
  if (conv.id === S.selectedConv) item.classList.add("selected");
  if (conv._unread) item.classList.add("unread");
  const row = el("div", "conv-row");
  row.append(el("strong", "conv-name", conv.enterprise_name || "访客"));
  if (conv.state === "waiting") {
    const wait = el("span", "wait");
    wait.dataset.convId = String(conv.id);
    const seconds = waitSeconds(conv);
    wait.textContent = seconds === null ? "等待中" : `已等待 ${formatDuration(seconds)}`;
    if (seconds !== null && seconds > 300) wait.classList.add("long");
    row.append(wait);
  } else {
    row.append(el("span", "state-pill small", conv.butler_name ? `${conv.butler_name}` : STATE_LABELS[conv.state] || ""));
  }
  item.append(row);
  if (conv.handoff_reason) item.append(el("div", "conv-reason", reasonLabel(conv.handoff_reason)));
  const last = Array.isArray(conv.last_messages) ? conv.last_messages.slice(-2) : [];
  for (const frame of last) item.append(el("div", "conv-last", messagePreview(frame)));
  item.addEventListener("click", () => openConversation(conv.id));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openConversation(conv.id);
    }
  });
  return item;
}

function renderConversationLists() {
  for (const [listId, items, empty] of [
    ["waiting-list", S.waiting, "暂无等待接入的会话"],
    ["mine-list", S.mine, "暂无进行中的会话"],
  ]) {
    const list = $(listId);
    clear(list);
    if (!items.length) list.append(el("li", "list-empty", empty));
    for (const conv of items) list.append(convItem(conv));
  }
  for (const id of ["waiting-count", "waiting-count-2"]) $(id).textContent = String(S.waiting.length);
  for (const id of ["mine-count", "mine-count-2"]) $(id).textContent = String(S.mine.length);
}

function tickWaits() {
  for (const node of document.querySelectorAll(".wait[data-conv-id]")) {
    const conv = S.convById.get(Number(node.dataset.convId));
    if (!conv) continue;
    const seconds = waitSeconds(conv);
    if (seconds === null) continue;
    node.textContent = `已等待 ${formatDuration(seconds)}`;
    node.classList.toggle("long", seconds > 300);
  }
}
setInterval(tickWaits, 1000);

async function openConversation(id) {
  S.selectedConv = id;
  const conv = S.convById.get(id);
  if (conv) conv._unread = false;
  for (const item of document.querySelectorAll(".conv-item")) {
    item.classList.toggle("selected", Number(item.dataset.id) === id);
    if (Number(item.dataset.id) === id) item.classList.remove("unread");
  }
  $("view-conversations").classList.add("show-detail");
  $("conv-empty").hidden = true;
  $("conv-body").hidden = false;
  $("conv-error").textContent = "";
  $("transfer-panel").hidden = true;
  if (conv) renderConversationHead(conv);
  clear($("transcript"));
  $("transcript").append(el("p", "loading", "正在加载对话记录…"));
  try {
    const data = await api("GET", `/conversations/${encodeURIComponent(id)}/transcript`);
    if (S.selectedConv !== id) return;
    S.selectedConvData = data.conversation;
    renderConversationHead(data.conversation);
    renderTranscript(data.messages || []);
  } catch (error) {
    if (S.selectedConv !== id) return;
    clear($("transcript"));
    $("conv-error").textContent = error.message;
  }
  ensureCanned();
}

function renderConversationHead(conv) {
  S.selectedConvData = conv;
  $("conv-title").textContent = conv.enterprise_name || "访客";
  const pill = $("conv-state");
  pill.textContent = conv.state === "butler" && conv.butler_name ? `${conv.butler_name} 服务中` : STATE_LABELS[conv.state] || conv.state || "";
  pill.dataset.state = conv.state || "";
  const parts = [];
  if (conv.sender) parts.push(`会话 ${conv.sender}`);
  if (conv.channel) parts.push(conv.channel === "web" ? "网页" : conv.channel);
  if (conv.handoff_reason) parts.push(reasonLabel(conv.handoff_reason));
  $("conv-sub").textContent = parts.join(" · ");
  updateConversationButtons();
}

function updateConversationButtons() {
  const conv = S.selectedConvData;
  const state = conv ? conv.state : null;
  const inflight = (key) => S.inflight.has(`${key}:${conv && conv.id}`);
  $("take-over").disabled = !conv || state === "butler" || inflight("take-over");
  $("hand-back").disabled = !conv || state !== "butler" || inflight("hand-back");
  $("transfer").disabled = !conv || state === "bot";
  const note = $("note-toggle").checked;
  $("reply-hint").textContent = note ? "内部备注仅管家可见，企业看不到" : state === "butler" ? "" : "接管后才能回复企业";
  $("reply-form").classList.toggle("note-mode", note);
  $("reply-text").placeholder = note ? "写内部备注（企业看不到）" : "回复企业（Enter 发送，Shift+Enter 换行）";
  $("reply-send").textContent = note ? "添加备注" : "发送";
}

function frameNode(frame) {
  const from = ["enterprise", "bot", "butler", "system", "note"].includes(frame.from) ? frame.from : "system";
  const node = el("div", "t-msg");
  node.dataset.from = from;
  if (typeof frame.seq === "number") node.dataset.seq = String(frame.seq);
  const head = el("div", "t-head");
  let who = FROM_LABELS[from];
  if (from === "butler" && frame.author) who = `企业管家 ${frame.author}`;
  if (from === "note") who = `内部备注${frame.author ? " · " + frame.author : ""}`;
  head.append(el("span", "t-who", who), el("span", "t-time", formatTime(frame.at)));
  node.append(head);
  let text = String(frame.text ?? "");
  if (from === "enterprise" && text.startsWith("/") && S.payloadTitles.has(text)) text = `〔点选〕${S.payloadTitles.get(text)}`;
  node.append(el("div", "t-text", text));
  const custom = frame.custom && typeof frame.custom === "object" ? frame.custom : null;
  if (custom && custom.kind === "guide") {
    node.append(el("div", "t-card", `办事指南卡片：${custom.guide_name || ""}${custom.aspect ? "（" + custom.aspect + "）" : ""}`));
  } else if (custom && custom.kind === "ticket") {
    const card = el("div", "t-card", `工单卡片：${custom.number || ""} ${custom.status_label || ""}`);
    if (custom.current_deadline && custom.current_deadline.light) card.prepend(lightDot(custom.current_deadline.light, ""));
    node.append(card);
  } else if (custom && custom.kind) {
    node.append(el("div", "t-card", KIND_LABELS[custom.kind] || `〔${custom.kind}〕`));
  }
  if (Array.isArray(frame.buttons) && frame.buttons.length) {
    for (const button of frame.buttons) {
      if (button && typeof button.payload === "string") S.payloadTitles.set(button.payload, button.title || button.payload);
    }
    node.append(el("div", "t-buttons", `按钮：${frame.buttons.map((b) => (b && b.title) || "").join(" | ")}`));
  }
  return node;
}

function renderTranscript(messages) {
  const box = $("transcript");
  clear(box);
  S.transcriptSeqs.clear();
  const sorted = [...messages].sort((a, b) => (a.seq || 0) - (b.seq || 0));
  if (!sorted.length) box.append(el("p", "loading", "暂无对话记录"));
  for (const frame of sorted) appendTranscript(frame, false);
  box.scrollTop = box.scrollHeight;
}

/** A frame's identity: its seq; notes share the seq of the turn before them, so they add their content. */
function frameKey(frame) {
  if (typeof frame.seq !== "number") return null;
  if (frame.from === "note") return `note:${frame.seq}:${frame.at || ""}:${frame.author || ""}:${frame.text || ""}`;
  return `seq:${frame.seq}`;
}

function appendTranscript(frame, scroll = true) {
  const key = frameKey(frame);
  if (key !== null) {
    if (S.transcriptSeqs.has(key)) return;
    S.transcriptSeqs.add(key);
  }
  const box = $("transcript");
  const placeholder = box.querySelector(".loading");
  if (placeholder) placeholder.remove();
  const node = frameNode(frame);
  // keep seq order even if a live frame overtakes the POST answer
  let before = null;
  if (typeof frame.seq === "number") {
    for (const child of box.children) {
      if (child.dataset.seq !== undefined && Number(child.dataset.seq) > frame.seq) {
        before = child;
        break;
      }
    }
  }
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.insertBefore(node, before);
  if (scroll && (nearBottom || frame.from === "butler" || frame.from === "note")) box.scrollTop = box.scrollHeight;
}

function upsertConversation(conv) {
  if (!conv || conv.id === undefined) return;
  const known = S.convById.get(conv.id);
  const merged = { ...(known || {}), ...conv, _fetchedAt: Date.now() };
  S.convById.set(conv.id, merged);
  if (S.selectedConv === conv.id) renderConversationHead(merged);
  debounce("conversations", refreshConversations);
}

async function conversationAction(action, button, path, body, done) {
  const conv = S.selectedConvData;
  if (!conv) return;
  $("conv-error").textContent = "";
  await once(`${action}:${conv.id}`, button, async () => {
    try {
      const data = await api("POST", `/conversations/${encodeURIComponent(conv.id)}/${path}`, body);
      if (data.conversation) upsertConversation(data.conversation);
      if (done) done(data);
    } catch (error) {
      if (error.status === 401) return;
      $("conv-error").textContent = error.message;
      toast(error.message, { kind: "error" });
      if (error.status === 409 || error.status === 404) debounce("conversations", refreshConversations, 50);
    }
  });
  updateConversationButtons();
}

$("take-over").addEventListener("click", () =>
  conversationAction("take-over", $("take-over"), "take-over", undefined, (data) => {
    toast(`已接管与「${(data.conversation && data.conversation.enterprise_name) || "访客"}」的会话`, { kind: "success" });
    setListPane("mine");
    $("reply-text").focus();
  }),
);

$("hand-back").addEventListener("click", () =>
  conversationAction("hand-back", $("hand-back"), "hand-back", undefined, () => {
    toast("已交还智能助手", { kind: "success" });
  }),
);

$("transfer").addEventListener("click", async () => {
  const panel = $("transfer-panel");
  if (!panel.hidden) {
    panel.hidden = true;
    return;
  }
  await ensureButlers();
  fillButlerSelect($("transfer-butler"));
  panel.hidden = false;
});
$("transfer-cancel").addEventListener("click", () => {
  $("transfer-panel").hidden = true;
});
$("transfer-confirm").addEventListener("click", () => {
  const butlerId = Number($("transfer-butler").value);
  if (!butlerId) {
    $("conv-error").textContent = "请选择要转交的管家。";
    return;
  }
  conversationAction("transfer", $("transfer-confirm"), "transfer", { butler_id: butlerId }, () => {
    $("transfer-panel").hidden = true;
    toast("会话已转交", { kind: "success" });
  });
});

async function ensureButlers() {
  if (S.butlers) return S.butlers;
  try {
    const data = await api("GET", "/butlers");
    S.butlers = data.butlers || [];
  } catch (error) {
    if (error.status !== 401) toast(`管家名单加载失败：${error.message}`, { kind: "error" });
    return [];
  }
  return S.butlers;
}

function fillButlerSelect(select) {
  clear(select);
  const placeholder = el("option", "", "请选择管家");
  placeholder.value = "";
  select.append(placeholder);
  for (const butler of S.butlers || []) {
    const option = el("option", "", butler.department ? `${butler.name}（${butler.department}）` : butler.name);
    option.value = String(butler.id);
    select.append(option);
  }
}

async function ensureCanned() {
  if (S.canned) return;
  try {
    const data = await api("GET", "/canned-replies");
    S.canned = data.replies || [];
  } catch {
    S.canned = null;
    return;
  }
  const select = $("canned");
  for (const reply of S.canned) {
    const option = el("option", "", reply.title || reply.text);
    option.value = String(reply.id);
    option.title = reply.text;
    select.append(option);
  }
}

$("canned").addEventListener("change", () => {
  const select = $("canned");
  const reply = (S.canned || []).find((r) => String(r.id) === select.value);
  select.value = "";
  if (!reply) return;
  const box = $("reply-text");
  box.value = box.value.trim() ? `${box.value.trimEnd()}\n${reply.text}` : reply.text;
  box.focus();
});

$("note-toggle").addEventListener("change", updateConversationButtons);

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const conv = S.selectedConvData;
  const box = $("reply-text");
  const text = box.value.trim();
  if (!conv || !text) return;
  const note = $("note-toggle").checked;
  $("conv-error").textContent = "";
  // a retry of the same text after a lost answer reuses its id, so the server stores it once
  if (!S.replyAttempt || S.replyAttempt.text !== text || S.replyAttempt.conv !== conv.id || S.replyAttempt.note !== note) {
    S.replyAttempt = { text, conv: conv.id, note, id: newId() };
  }
  const body = note ? { text } : { text, id: S.replyAttempt.id };
  await once(`reply:${conv.id}`, $("reply-send"), async () => {
    try {
      const data = await api("POST", `/conversations/${encodeURIComponent(conv.id)}/${note ? "notes" : "messages"}`, body);
      S.replyAttempt = null;
      if (box.value.trim() === text) box.value = "";
      if (data.message && S.selectedConv === conv.id) appendTranscript(data.message);
    } catch (error) {
      if (error.status === 401) return;
      $("conv-error").textContent = error.message;
      toast(error.message, { kind: "error" });
    }
  });
});

$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
});

// ---------------------------------------------------------------- tickets

function ticketQuery() {
  const params = new URLSearchParams();
  const status = $("filter-status").value;
  const category = $("filter-category").value;
  const light = $("filter-light").value;
  const enterprise = $("filter-enterprise").value.trim();
  if (status) params.set("status", status);
  if (category) params.set("category", category);
  if (light) params.set("light", light);
  if (enterprise) params.set("enterprise", enterprise);
  const query = params.toString();
  return query ? `?${query}` : "";
}

async function loadTickets() {
  try {
    const data = await api("GET", `/tickets${ticketQuery()}`);
    S.tickets = data.tickets || [];
    renderTicketList();
  } catch (error) {
    if (error.status !== 401) toast(`工单列表加载失败：${error.message}`, { kind: "error" });
  }
}

$("ticket-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadTickets();
});
for (const id of ["filter-status", "filter-category", "filter-light"]) $(id).addEventListener("change", loadTickets);

function ticketRow(ticket) {
  const row = el("div", "ticket-row");
  row.dataset.number = String(ticket.number);
  row.dataset.status = String(ticket.status || "");
  row.setAttribute("role", "listitem");
  row.tabIndex = 0;
  if (ticket.number === S.selectedTicket) row.classList.add("selected");
  const top = el("div", "ticket-top");
  top.append(el("strong", "ticket-number", ticket.number));
  const status = el("span", "status-pill", ticket.status_label || ticket.status || "");
  status.dataset.status = String(ticket.status || "");
  top.append(status);
  if (ticket.urgency && ticket.urgency !== "普通") top.append(el("span", "urgent-pill", ticket.urgency));
  if (ticket.awaiting_rating) top.append(el("span", "tag", "待评价"));
  if (ticket.reopen_count) top.append(el("span", "tag warn", `重办${ticket.reopen_count}次`));
  row.append(top);
  row.append(el("div", "ticket-ent", `${ticket.enterprise_name || ""} · ${ticket.category || ""}`));
  const lights = el("div", "lights");
  const values = ticket.lights || {};
  for (const [stage] of LIGHT_STAGES) lights.append(lightDot(values[stage], stage));
  row.append(lights);
  const foot = el("div", "ticket-foot");
  const deadline = ticket.current_deadline;
  if (deadline) foot.append(el("span", `due due-${deadline.light || ""}`, `${deadline.label}：${formatDateTime(deadline.due)}前`));
  if (ticket.butler_name) foot.append(el("span", "who", `管家 ${ticket.butler_name}`));
  row.append(foot);
  row.addEventListener("click", () => openTicket(ticket.number));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openTicket(ticket.number);
    }
  });
  return row;
}

function renderTicketList() {
  const list = $("ticket-list");
  clear(list);
  $("ticket-count").textContent = String(S.tickets.length);
  if (!S.tickets.length) list.append(el("p", "list-empty", "没有符合条件的工单"));
  for (const ticket of S.tickets) list.append(ticketRow(ticket));
}

async function openTicket(number) {
  S.selectedTicket = number;
  for (const row of document.querySelectorAll(".ticket-row")) row.classList.toggle("selected", row.dataset.number === number);
  $("view-tickets").classList.add("show-detail");
  const pane = $("ticket-detail");
  if (!S.ticketDetail || S.ticketDetail.number !== number) {
    clear(pane);
    pane.append(el("p", "loading", "正在加载工单…"));
  }
  try {
    const data = await api("GET", `/tickets/${encodeURIComponent(number)}`);
    if (S.selectedTicket !== number) return;
    renderTicketDetail(data.ticket);
  } catch (error) {
    if (S.selectedTicket !== number || error.status === 401) return;
    clear(pane);
    pane.append(backButton("tickets"), el("p", "form-error", error.message));
  }
}

function backButton(view) {
  const back = el("button", "back ghost", "‹ 返回列表");
  back.type = "button";
  back.addEventListener("click", () => $(`view-${view}`).classList.remove("show-detail"));
  return back;
}

function field(list, term, value) {
  if (value === undefined || value === null || value === "") return;
  const row = el("div", "row");
  row.append(el("dt", "", term));
  const dd = el("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = String(value);
  row.append(dd);
  list.append(row);
}

/** What the butler is typing in the action forms, so a live refresh never wipes it. */
function ticketDrafts(number) {
  const drafts = new Map();
  const current = document.querySelector(".ticket-detail");
  if (!current || current.dataset.number !== number) return drafts;
  for (const field of current.querySelectorAll(".action-card textarea, .action-card select")) {
    if (field.id && field.value) drafts.set(field.id, field.value);
  }
  const focused = document.activeElement && current.contains(document.activeElement) ? document.activeElement.id : "";
  if (focused) drafts.set("__focus__", focused);
  return drafts;
}

function renderTicketDetail(ticket, { keepDrafts = true } = {}) {
  const drafts = keepDrafts ? ticketDrafts(ticket.number) : new Map();
  S.ticketDetail = ticket;
  const pane = $("ticket-detail");
  clear(pane);
  const wrap = el("div", "ticket-detail");
  wrap.dataset.number = String(ticket.number);
  const head = el("div", "detail-head");
  head.append(backButton("tickets"));
  const title = el("div", "detail-title");
  title.append(el("h2", "", `工单 ${ticket.number}`));
  const status = el("span", "status-pill", ticket.status_label || ticket.status);
  status.dataset.status = String(ticket.status || "");
  status.id = "ticket-status";
  title.append(status);
  if (ticket.urgency && ticket.urgency !== "普通") title.append(el("span", "urgent-pill", ticket.urgency));
  head.append(title);
  wrap.append(head);

  const lights = el("div", "lights big");
  for (const [stage] of LIGHT_STAGES) lights.append(lightDot((ticket.lights || {})[stage], stage));
  wrap.append(lights);

  const facts = el("dl", "facts");
  field(facts, "企业", ticket.enterprise_name);
  field(facts, "诉求类别", ticket.category);
  field(facts, "企业管家", ticket.butler_name);
  field(facts, "责任部门", ticket.department_name);
  field(facts, "督办", ticket.escalation_label);
  field(facts, "联系人", ticket.contact_name);
  if (ticket.contact_phone) {
    const phone = String(ticket.contact_phone);
    const link = el("a", "", phone);
    if (/^[0-9+\- ]{3,20}$/.test(phone)) link.href = `tel:${phone.replace(/[^0-9+]/g, "")}`;
    field(facts, "联系电话", link);
  }
  field(facts, "受理时间", formatDateTime(ticket.created_at));
  if (ticket.current_deadline) {
    const due = el("span");
    due.append(lightDot(ticket.current_deadline.light, ""));
    due.append(document.createTextNode(` ${ticket.current_deadline.label}：${formatDateTime(ticket.current_deadline.due)}前`));
    field(facts, "当前时限", due);
  }
  if (ticket.reopen_count) field(facts, "重新办理", `${ticket.reopen_count}次`);
  const info = el("section", "ticket-info");
  info.append(facts);

  info.append(el("h3", "section-title", "诉求内容"));
  info.append(el("div", "description", ticket.description || "（无）"));

  if (Array.isArray(ticket.ratings) && ticket.ratings.length) {
    info.append(el("h3", "section-title", "企业评价"));
    const list = el("ul", "ratings");
    for (const rating of ticket.ratings) {
      const item = el("li", "rating");
      item.dataset.score = String(rating.score || "");
      item.append(el("strong", "", rating.score));
      item.append(el("span", "muted", ` 第${rating.round || 1}轮 · ${formatDateTime(rating.at)}`));
      if (rating.comment) item.append(el("div", "rating-comment", rating.comment));
      list.append(item);
    }
    info.append(list);
  }

  wrap.append(info);
  const side = ticketActions(ticket);
  const error = el("p", "form-error");
  error.id = "ticket-error";
  error.setAttribute("role", "alert");
  side.append(error);
  wrap.append(side);

  const history = el("section", "ticket-history");
  history.append(el("h3", "section-title", "办理记录"));
  const events = el("ol", "events");
  for (const event of ticket.events || []) {
    const item = el("li", "event");
    item.dataset.kind = String(event.kind || "");
    const line = el("div", "event-head");
    line.append(el("span", "event-kind", event.kind_label || EVENT_LABELS[event.kind] || event.kind));
    if (event.actor) line.append(el("span", "event-actor", event.actor));
    line.append(el("span", "event-time", formatDateTime(event.at)));
    item.append(line);
    if (event.from_status && event.to_status && event.from_status !== event.to_status) {
      item.append(el("div", "event-status", `${statusText(event.from_status)} → ${statusText(event.to_status)}`));
    }
    if (event.note) item.append(el("div", "event-note", event.note));
    events.append(item);
  }
  if (!events.childElementCount) events.append(el("li", "muted", "暂无记录"));
  history.append(events);
  wrap.append(history);
  pane.append(wrap);
  for (const [id, value] of drafts) {
    if (id === "__focus__") continue;
    const field = document.getElementById(id);
    if (!field || field.disabled || field.value) continue;
    field.value = value;
    if (field.tagName === "SELECT") field.dataset.draft = value; // its options may arrive later
  }
  const focus = drafts.get("__focus__");
  if (focus && document.getElementById(focus)) document.getElementById(focus).focus();
}

const STATUS_TEXT = {
  submitted: "已受理",
  contacted: "已联系，协调中",
  in_progress: "办理中",
  answered: "已反馈，待评价",
  closed: "已办结",
};
function statusText(status) {
  return STATUS_TEXT[status] || status;
}

/** The closed-loop actions the ticket allows now (all of them when the server does not say). */
function ticketActions(ticket) {
  const allowed = Array.isArray(ticket.allowed_actions) ? new Set(ticket.allowed_actions) : null;
  const can = (action) => !allowed || allowed.has(action);
  const box = el("section", "ticket-actions");
  box.append(el("h3", "section-title", "办理"));
  if (ticket.status === "closed") box.append(el("p", "muted", "工单已办结，只能添加备注。"));
  else if (ticket.status === "answered") box.append(el("p", "muted", "已反馈办理结果，正在等待企业评价。"));

  const cards = [
    {
      action: "contact",
      title: "记录联系",
      id: "ticket-contact",
      placeholder: "联系情况，例如：已电话联系张经理，约定明天上门",
      path: "contact",
      body: (text) => ({ note: text }),
      optional: true,
      done: "已记录联系",
    },
    {
      action: "reply",
      title: ticket.status === "submitted" || ticket.status === "contacted" ? "初步答复" : "回复企业",
      id: "ticket-reply",
      placeholder: "给企业的答复（企业会在对话中收到）",
      path: "reply",
      body: (text) => ({ text }),
      done: "答复已发送",
    },
    {
      action: "answer",
      title: "标记已办结",
      id: "ticket-answer",
      placeholder: "办理结果（发送后请企业评价）",
      path: "answer",
      body: (text) => ({ text }),
      done: "已标记办结，已请企业评价",
    },
    {
      action: "assign",
      title: "转交",
      id: "ticket-transfer",
      placeholder: "转交原因",
      path: "transfer",
      transfer: true,
      done: "工单已转交",
    },
    {
      action: "note",
      title: "备注",
      id: "ticket-note",
      placeholder: "内部备注，企业看不到",
      path: "notes",
      body: (text) => ({ text }),
      done: "备注已添加",
    },
  ];
  const grid = el("div", "action-grid");
  for (const card of cards) {
    const allowedNow = can(card.action) || (card.action === "assign" && can("transfer"));
    const form = el("form", "action-card");
    form.dataset.action = card.action;
    form.append(el("h4", "", card.title));
    if (!allowedNow) {
      form.classList.add("unavailable");
      form.append(el("p", "action-hint", actionHint(card.action, ticket.status)));
    }
    let select = null;
    if (card.transfer) {
      select = el("select");
      select.id = `${card.id}-butler`;
      select.setAttribute("aria-label", "转交给");
      const option = el("option", "", "请选择管家");
      option.value = "";
      select.append(option);
      ensureButlers().then(() => {
        const current = select.value || select.dataset.draft || "";
        fillButlerSelect(select);
        select.value = current;
      });
      form.append(select);
    }
    const text = el("textarea");
    text.id = `${card.id}-text`;
    text.rows = 2;
    text.maxLength = 2000;
    text.placeholder = card.placeholder;
    text.setAttribute("aria-label", card.title);
    form.append(text);
    const button = el("button", card.action === "answer" ? "primary" : "", card.title);
    button.type = "submit";
    button.id = card.id;
    form.append(button);
    if (!allowedNow) {
      for (const control of form.querySelectorAll("textarea, select, button")) control.disabled = true;
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = text.value.trim();
      let body;
      if (card.transfer) {
        const butlerId = Number(select.value);
        if (!butlerId) {
          showTicketError("请选择要转交的管家。");
          return;
        }
        body = { butler_id: butlerId, reason: value };
      } else {
        if (!value && !card.optional) {
          showTicketError(`请填写${card.title}的内容。`);
          return;
        }
        body = card.body(value);
      }
      await once(`ticket:${card.action}:${ticket.number}`, button, async () => {
        try {
          const data = await api("POST", `/tickets/${encodeURIComponent(ticket.number)}/${card.path}`, body);
          toast(`${ticket.number}：${card.done}`, { kind: "success" });
          text.value = "";
          if (select) select.value = "";
          if (data.ticket) {
            renderTicketDetail(data.ticket);
            updateTicketRow(data.ticket);
          }
        } catch (error) {
          if (error.status === 401) return;
          showTicketError(error.message);
          toast(error.message, { kind: "error" });
        }
      });
    });
    grid.append(form);
  }
  box.append(grid);
  return box;
}

function showTicketError(message) {
  const node = $("ticket-error");
  if (node) node.textContent = message;
}

function updateTicketRow(ticket) {
  const index = S.tickets.findIndex((t) => t.number === ticket.number);
  if (index >= 0) {
    S.tickets[index] = { ...S.tickets[index], ...ticket };
    const old = document.querySelector(`.ticket-row[data-number="${CSS.escape(ticket.number)}"]`);
    if (old) old.replaceWith(ticketRow(S.tickets[index]));
  } else {
    debounce("tickets", loadTickets);
  }
}

// ---------------------------------------------------------------- live notifications

function setLive(status) {
  const node = $("live-status");
  node.dataset.status = status;
  node.textContent = status === "online" ? "实时 ●" : "重连中…";
  node.title = status === "online" ? "实时通知已连接" : "实时通知已断开，正在重连";
}

function startLive() {
  S.wsWanted = true;
  connectLive();
}

function stopLive() {
  S.wsWanted = false;
  clearTimeout(S.wsTimer);
  if (S.ws) {
    const ws = S.ws;
    S.ws = null;
    ws.close();
  }
}

function connectLive() {
  clearTimeout(S.wsTimer);
  if (!S.wsWanted || S.ws || typeof window.WebSocket !== "function") return;
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try {
    ws = new WebSocket(`${scheme}//${window.location.host}${WS_PATH}`);
  } catch {
    scheduleLive();
    return;
  }
  S.ws = ws;
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    const reconnect = S.wsAttempt > 0;
    S.wsAttempt = 0;
    setLive("online");
    if (reconnect) {
      // catch up with what happened while we were away
      refreshConversations();
      loadTickets();
      if (S.selectedConv !== null) openConversation(S.selectedConv);
    }
  });
  ws.addEventListener("message", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handleLive(data);
  });
  const ping = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
  }, 25000);
  ws.addEventListener("close", async (event) => {
    clearInterval(ping);
    if (S.ws === ws) S.ws = null;
    if (!S.wsWanted) return;
    if (event.code === 4401) {
      showLogin("登录已过期，请重新登录。");
      return;
    }
    setLive("offline");
    if (!opened) {
      // maybe the session ended: /me tells, and a 401 shows the log-in form
      try {
        await api("GET", "/me");
      } catch {
        /* handled by api() */
      }
    }
    scheduleLive();
  });
}

function scheduleLive() {
  if (!S.wsWanted) return;
  const base = Math.min(30000, 1000 * 2 ** Math.min(S.wsAttempt, 5));
  S.wsAttempt += 1;
  S.wsTimer = setTimeout(connectLive, base / 2 + Math.random() * (base / 2));
}

function handleLive(data) {
  if (!data || typeof data !== "object") return;
  switch (data.type) {
    case "handoff": {
      const conv = data.conversation || {};
      upsertConversation(conv);
      bumpBadge("conversations");
      const reason = reasonLabel(conv.handoff_reason);
      toast(`新的转人工：${conv.enterprise_name || "访客"}${reason ? "（" + reason + "）" : ""}`, {
        kind: "handoff",
        onClick: () => {
          switchView("conversations");
          setListPane("waiting");
          openConversation(conv.id);
        },
      });
      break;
    }
    case "conversation_state":
      upsertConversation(data.conversation);
      break;
    case "conversation_message": {
      const id = data.conversation_id;
      const message = data.message || {};
      const conv = S.convById.get(id);
      if (conv) {
        conv.last_messages = [...(conv.last_messages || []), message].slice(-3);
        if (S.selectedConv !== id && message.from === "enterprise") conv._unread = true;
        renderConversationLists();
      }
      if (S.selectedConv === id) appendTranscript(message);
      else if (message.from === "enterprise" && conv && conv.state === "butler" && S.mine.some((c) => c.id === id)) {
        bumpBadge("conversations");
        toast(`${conv.enterprise_name || "访客"}：${String(message.text || "").slice(0, 40)}`, {
          kind: "message",
          onClick: () => {
            switchView("conversations");
            openConversation(id);
          },
        });
      }
      break;
    }
    case "ticket": {
      const ticket = data.ticket || {};
      const known = S.tickets.find((t) => t.number === ticket.number);
      if (known) updateTicketRow(ticket);
      else debounce("tickets", loadTickets);
      if (S.selectedTicket === ticket.number) openTicket(ticket.number);
      if (data.event === "new") {
        bumpBadge("tickets");
        toast(`新工单 ${ticket.number}：${ticket.enterprise_name || ""}（${ticket.category || ""}）`, {
          kind: ticket.urgency === "紧急" ? "urgent" : "ticket",
          onClick: () => {
            switchView("tickets");
            openTicket(ticket.number);
          },
        });
      } else if (data.event === "light") {
        const light = (ticket.current_deadline && ticket.current_deadline.light) || worstLight(ticket.lights);
        if (light === "yellow" || light === "red") {
          bumpBadge("tickets");
          toast(`工单 ${ticket.number} ${light === "red" ? "亮红灯，已超时" : "亮黄灯，即将超时"}`, {
            kind: light,
            onClick: () => {
              switchView("tickets");
              openTicket(ticket.number);
            },
          });
        }
      }
      break;
    }
    default:
      break;
  }
}

function worstLight(lights) {
  const values = Object.values(lights || {});
  if (values.includes("red")) return "red";
  if (values.includes("yellow")) return "yellow";
  return "green";
}

// the lights change with the clock even when nothing happens
setInterval(() => {
  if (S.user && !document.hidden) loadTickets();
}, 60000);

// ---------------------------------------------------------------- start

async function start() {
  try {
    await restoreSession();
    showApp();
  } catch {
    showLogin("");
  }
}

start();

// ---------------------------------------------------------------- 企业绑定 (binding codes)

/** The enterprises the user serves, each with a button that issues a one-time binding code. */
async function loadEnterprises() {
  const list = $("enterprise-list");
  const query = $("enterprise-query").value.trim();
  let data;
  try {
    data = await api("GET", `/enterprises${query ? `?q=${encodeURIComponent(query)}` : ""}`);
  } catch (error) {
    toast(error.message, { kind: "error" });
    return;
  }
  clear(list);
  if (!data.enterprises.length) {
    list.append(el("p", "empty-detail", query ? "没有找到符合条件的企业" : "您名下暂无服务企业"));
    return;
  }
  for (const enterprise of data.enterprises) {
    const row = el("div", "enterprise-row");
    row.setAttribute("role", "listitem");
    const name = el("div", "enterprise-name", enterprise.name);
    const code = el("div", "enterprise-code", enterprise.credit_code);
    const button = el("button", "primary", "生成绑定码");
    button.type = "button";
    button.addEventListener("click", () => issueBindingCode(enterprise, button));
    row.append(name, code, button);
    list.append(row);
  }
}

async function issueBindingCode(enterprise, button) {
  await once(`binding-${enterprise.id}`, button, async () => {
    let data;
    try {
      data = await api("POST", `/enterprises/${enterprise.id}/binding-code`, {});
    } catch (error) {
      toast(error.message, { kind: "error" });
      return;
    }
    const box = $("binding-code");
    clear(box);
    box.append(
      el("div", "binding-enterprise", data.enterprise_name),
      el("div", "binding-digits", data.code),
      el("div", "binding-expiry", `有效期至 ${data.expires_text}，仅可使用一次`),
    );
    box.hidden = false;
  });
}

$("enterprise-search").addEventListener("submit", (event) => {
  event.preventDefault();
  loadEnterprises();
});
