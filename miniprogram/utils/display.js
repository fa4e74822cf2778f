// What the mini-program shows, with the same rules and texts as the web chat
// (gateway/static/chat/chat.js and gateway/static/shared/display.js), so both clients look alike.
// Everything here is a pure function from a protocol frame to a view model that the WXML draws;
// tests/display.test.js checks that the shared labels have not drifted from the web page's.

const LIGHT_LABELS = { green: "正常", yellow: "即将超时", red: "已超时", done: "已完成" };

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

const WELCOME_TEXT =
  "您好！我是企业管家助手，可以为您解答办事指南（材料、流程、时限、收费、地点），也可以受理企业诉求。需要人工服务请点“联系管家”。";

const FROM_VALUES = ["bot", "butler", "system", "enterprise"];
const LIGHT_VALUES = ["green", "yellow", "red", "done"];
const BEIJING_OFFSET_MS = 8 * 3600 * 1000; // UTC+8 all year, no daylight saving

/** Beijing-time parts of an ISO time, whatever the phone's time zone; null when unreadable. */
function beijingParts(iso) {
  if (!iso) return null;
  const time = new Date(iso).getTime();
  if (Number.isNaN(time)) return null;
  const d = new Date(time + BEIJING_OFFSET_MS);
  const pad = (n) => String(n).padStart(2, "0");
  return {
    year: String(d.getUTCFullYear()),
    month: String(d.getUTCMonth() + 1),
    day: String(d.getUTCDate()),
    hour: pad(d.getUTCHours()),
    minute: pad(d.getUTCMinutes()),
  };
}

function formatTime(iso) {
  const p = beijingParts(iso);
  return p ? `${p.hour}:${p.minute}` : "";
}

function formatDue(iso) {
  const p = beijingParts(iso);
  return p ? `${p.year}年${p.month}月${p.day}日 ${p.hour}:${p.minute}` : String(iso || "");
}

const URL_PATTERN = /https?:\/\/[^\s，。；、）)】」"'<>]+/g;

/** Each element with a `key` for wx:key (lists here never reorder; the key just has to be unique). */
function withKeys(list) {
  return list.map((item, index) => ({ ...item, key: `k${index}` }));
}

/** Text split into plain pieces and http(s) links (a mini-program cannot open them, it copies them). */
function linkify(text) {
  const value = String(text == null ? "" : text);
  const pieces = [];
  let last = 0;
  const pattern = new RegExp(URL_PATTERN.source, "g");
  let match;
  while ((match = pattern.exec(value)) !== null) {
    if (match.index > last) pieces.push({ text: value.slice(last, match.index), link: false });
    pieces.push({ text: match[0], link: true });
    last = match.index + match[0].length;
  }
  if (last < value.length) pieces.push({ text: value.slice(last), link: false });
  return withKeys(pieces);
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

function materialItem(item) {
  if (typeof item === "string") return { name: "", meta: "", note: "", text: item };
  const value = item && typeof item === "object" ? item : {};
  const meta = [value.form, value.copies ? `${value.copies}份` : "", value.requirement].filter(Boolean);
  return {
    name: String(value.name || ""),
    meta: meta.length ? `（${meta.join("，")}）` : "",
    note: String(value.notes || value.note || ""),
    text: "",
  };
}

function stepItem(step) {
  if (typeof step === "string") return { name: "", meta: "", note: "", text: step };
  const value = step && typeof step === "object" ? step : {};
  return { name: String(value.name || ""), meta: "", note: String(value.description || ""), text: "" };
}

function factRow(term, value) {
  if (value === undefined || value === null || value === "") return null;
  return { term, value: String(value), pieces: linkify(value) };
}

function structuredSections(custom) {
  const sections = [];
  if (Array.isArray(custom.materials) && custom.materials.length) {
    sections.push({ type: "title", text: "申请材料" });
    sections.push({ type: "list", kind: "materials", items: custom.materials.map(materialItem) });
  }
  if (Array.isArray(custom.steps) && custom.steps.length) {
    sections.push({ type: "title", text: "办理流程" });
    sections.push({ type: "list", kind: "steps", items: custom.steps.map(stepItem) });
  }
  const rows = [
    factRow("办理时限", timeLimitText(custom)),
    factRow("收费标准", custom.fee),
    factRow("办理地点", custom.location || custom.place),
    factRow("办理时间", custom.hours),
    factRow("咨询电话", custom.phone),
    factRow("网上办理", custom.online_url),
  ].filter(Boolean);
  if (rows.length) sections.push({ type: "facts", rows });
  return sections;
}

/** The answer's lines: numbered lines become a list (materials or steps), "标签：值" lines labelled rows. */
function textSections(lines, aspect) {
  const sections = [];
  let list = null;
  const kind = aspect === "process" ? "steps" : "materials";
  for (const line of lines) {
    const numbered = /^\s*\d+[.、．]\s*/.exec(line);
    if (numbered) {
      if (!list) {
        list = { type: "list", kind, items: [] };
        sections.push(list);
      }
      const content = line.slice(numbered[0].length);
      const split = content.indexOf("：");
      if (split > 0 && kind === "materials") {
        list.items.push({ name: content.slice(0, split), meta: "", note: content.slice(split + 1), text: "" });
      } else {
        list.items.push({ name: "", meta: "", note: "", text: content });
      }
      continue;
    }
    list = null;
    const heading = /^([^：:]{2,10})[：:]\s*$/.exec(line);
    const facts = line.split("；").map((part) => /^([^：:]{2,8})：(.+)$/.exec(part.trim()));
    if (heading) {
      sections.push({ type: "title", text: heading[1] });
    } else if (facts.every(Boolean)) {
      let rows = sections[sections.length - 1];
      if (!rows || rows.type !== "facts") {
        rows = { type: "facts", rows: [] };
        sections.push(rows);
      }
      for (const fact of facts) rows.rows.push(factRow(fact[1], fact[2]));
    } else {
      sections.push({ type: "para", text: line, pieces: linkify(line) });
    }
  }
  return sections;
}

/** The guide card: structured fields when the reply carries them, else the answer's lines. */
function guideView(custom, text) {
  const lines = String(text || "")
    .split("\n")
    .filter((line) => line.trim() !== "");
  if (lines.length && lines[0].startsWith("【")) lines.shift(); // the title is in the card head
  const sources = lines.filter((line) => line.startsWith("来源："));
  const body = lines.filter((line) => !line.startsWith("来源："));
  const structured =
    Array.isArray(custom.materials) ||
    Array.isArray(custom.steps) ||
    custom.fee ||
    custom.location ||
    custom.place ||
    custom.online_url ||
    custom.time_limit;
  const sections = structured ? structuredSections(custom) : textSections(body, custom.aspect);
  sections.forEach((section, index) => {
    section.key = `s${index}`;
    if (section.items) section.items = withKeys(section.items);
    if (section.rows) section.rows = withKeys(section.rows);
  });
  return {
    name: String(custom.guide_name || "办事指南"),
    aspect: ASPECT_LABELS[custom.aspect] || custom.aspect_label || "办事指南",
    guideId: custom.guide_id ? String(custom.guide_id) : "",
    sections,
    sources,
  };
}

function lightView(light) {
  const value = LIGHT_VALUES.includes(light) ? light : "unknown";
  return { light: value, label: LIGHT_LABELS[value] || "" };
}

/** A ticket card: number, status, category, butler and phone, the current deadline with its light. */
function ticketView(custom) {
  const deadline = custom.current_deadline && typeof custom.current_deadline === "object" ? custom.current_deadline : null;
  const phone = String(custom.butler_phone || "");
  return {
    number: String(custom.number || ""),
    status: String(custom.status || ""),
    statusLabel: String(custom.status_label || custom.status || ""),
    category: String(custom.category || ""),
    butlerName: String(custom.butler_name || ""),
    butlerPhone: phone,
    phoneDialable: /^[0-9+\- ]{3,20}$/.test(phone),
    deadline: deadline
      ? { ...lightView(deadline.light), text: `${deadline.label || "时限"}：${formatDue(deadline.due)}前` }
      : null,
    awaitingRating: Boolean(custom.awaiting_rating),
    open: custom.status !== "closed",
  };
}

function isRatingFrame(frame) {
  const custom = frame.custom || {};
  if (custom.kind === "rating") return true;
  return (frame.buttons || []).some((b) => b && typeof b.payload === "string" && b.payload.startsWith("/rate_ticket"));
}

/** The buttons the bot sent with the rating prompt; without any, the three scores for its ticket. */
function ratingButtons(frame) {
  const buttons = (frame.buttons || []).filter((b) => b && typeof b.payload === "string");
  if (buttons.length) return buttons.map((b) => ({ title: String(b.title || b.payload), payload: b.payload }));
  const number = (frame.custom || {}).ticket_number || "";
  return RATING_SCORES.map((score) => ({
    title: score,
    payload: `/rate_ticket${JSON.stringify({ ticket_number: number, rating_score: score })}`,
  }));
}

function choiceButtons(frame) {
  return (frame.buttons || [])
    .filter((b) => b && typeof b.payload === "string")
    .map((b) => ({ title: String(b.title || b.payload), payload: b.payload }));
}

/** The badge above a bubble: who is speaking. */
function badgeText(from, author) {
  if (from === "butler") return `企业管家${author ? " · " + author : ""}`;
  if (from === "bot") return "智能助手";
  return "";
}

/** The view model of one conversation frame (or of a local message still being sent). */
function messageView(frame, display) {
  const from = FROM_VALUES.includes(frame.from) ? frame.from : "system";
  const custom = frame.custom && typeof frame.custom === "object" ? frame.custom : null;
  const kind = custom && custom.kind ? String(custom.kind) : "";
  const text = from === "enterprise" && display ? display : String(frame.text == null ? "" : frame.text);
  const view = {
    key: frame.seq != null ? `seq-${frame.seq}` : `local-${frame.reply_to}`,
    seq: typeof frame.seq === "number" ? frame.seq : null,
    clientId: from === "enterprise" && frame.reply_to ? String(frame.reply_to) : "",
    from,
    kind,
    badge: badgeText(from, frame.author),
    text: kind === "guide" ? "" : text,
    pieces: kind === "guide" ? [] : linkify(text),
    time: formatTime(frame.at),
    guide: kind === "guide" ? guideView(custom, text) : null,
    ticket: kind === "ticket" ? ticketView(custom) : null,
    rating: null,
    buttons: [],
    chosen: "",
    noAnswer: false,
    handoffNotice: kind === "handoff" && !text ? "正在为您转接企业管家…" : "",
    pending: false,
    failed: "",
  };
  if (isRatingFrame(frame)) {
    view.kind = "rating";
    view.rating = { ticketNumber: String((custom && custom.ticket_number) || ""), buttons: ratingButtons(frame) };
  } else {
    view.buttons = choiceButtons(frame);
  }
  view.noAnswer = kind === "no_answer" && !view.buttons.length;
  return view;
}

/** The banner's state, its text and the 联系管家 button's label, as the web page shows them. */
function stateView(state, butler, text) {
  const value = ["bot", "waiting", "butler"].includes(state) ? state : "bot";
  let label = text;
  if (!label) label = value === "butler" && butler ? `企业管家${butler}为您服务` : STATE_TEXT[value];
  return {
    state: value,
    text: label,
    handoffLabel: value === "bot" ? "联系管家" : value === "waiting" ? "转接中…" : "管家服务中",
    handoffDisabled: value !== "bot",
  };
}

module.exports = {
  ASPECT_LABELS,
  LIGHT_LABELS,
  RATING_SCORES,
  STATE_TEXT,
  WELCOME_TEXT,
  beijingParts,
  formatDue,
  formatTime,
  guideView,
  isRatingFrame,
  linkify,
  messageView,
  ratingButtons,
  stateView,
  ticketView,
};
