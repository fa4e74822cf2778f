// What the chat page and the console show alike: DOM nodes built from text (never HTML),
// times in Beijing time, and the names of the 2110 traffic lights.

export const LIGHT_LABELS = { green: "正常", yellow: "即将超时", red: "已超时", done: "已完成" };

const TIME_ZONE = "Asia/Shanghai";

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function beijingParts(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  try {
    const parts = new Intl.DateTimeFormat("zh-CN", {
      timeZone: TIME_ZONE,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).formatToParts(date);
    const get = (type) => (parts.find((p) => p.type === type) || {}).value || "";
    return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute") };
  } catch {
    const pad = (n) => String(n).padStart(2, "0");
    return {
      year: String(date.getFullYear()),
      month: String(date.getMonth() + 1),
      day: String(date.getDate()),
      hour: pad(date.getHours()),
      minute: pad(date.getMinutes()),
    };
  }
}
