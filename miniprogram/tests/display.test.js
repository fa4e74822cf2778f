// The mini-program shows what the web chat shows: the labels are compared with the web page's own
// files (gateway/static), so a change on one side without the other fails here.

const fs = require("fs");
const path = require("path");
const display = require("../utils/display");

const STATIC = path.join(__dirname, "..", "..", "gateway", "static");

/** The literal assigned to `const NAME =` in a web page file, evaluated (they are plain literals). */
function webLiteral(file, name) {
  const source = fs.readFileSync(path.join(STATIC, file), "utf8");
  const match = new RegExp(`(?:export )?const ${name} = ([\\[{][\\s\\S]*?[\\]}]);`).exec(source);
  if (!match) throw new Error(`${name} not found in ${file}`);
  return new Function(`return ${match[1]};`)();
}

test.each([
  ["shared/display.js", "LIGHT_LABELS"],
  ["chat/chat.js", "ASPECT_LABELS"],
  ["chat/chat.js", "STATE_TEXT"],
  ["chat/chat.js", "RATING_SCORES"],
])("%s %s is the same in the mini-program", (file, name) => {
  expect(display[name]).toEqual(webLiteral(file, name));
});

test("the welcome text is the web page's", () => {
  const source = fs.readFileSync(path.join(STATIC, "chat", "chat.js"), "utf8");
  expect(source).toContain(display.WELCOME_TEXT);
});

test("times are Beijing time whatever the phone's zone", () => {
  expect(display.formatDue("2026-11-30T16:30:00Z")).toBe("2026年12月1日 00:30");
  expect(display.formatTime("2026-11-30T10:21:03+08:00")).toBe("10:21");
  expect(display.formatTime("not a time")).toBe("");
  expect(display.formatDue("")).toBe("");
});

test("links are split out of text so they can be copied; other text stays text", () => {
  expect(display.linkify("见 https://www.sczwfw.gov.cn/a?b=1，谢谢")).toEqual([
    { text: "见 ", link: false, key: "k0" },
    { text: "https://www.sczwfw.gov.cn/a?b=1", link: true, key: "k1" },
    { text: "，谢谢", link: false, key: "k2" },
  ]);
  expect(display.linkify("javascript:alert(1)")).toEqual([{ text: "javascript:alert(1)", link: false, key: "k0" }]);
});

test("a guide with structured fields lists materials with their form, copies and notes", () => {
  const guide = display.guideView(
    {
      kind: "guide",
      guide_name: "排污许可证核发",
      aspect: "materials",
      materials: [{ name: "排污许可证申请表", form: "原件", copies: 1, notes: "加盖公章" }, "环评批复"],
      fee: "不收费",
      legal_time_limit: 20,
      legal_time_unit: "个工作日",
    },
    "",
  );
  expect(guide.aspect).toBe("申请材料");
  const list = guide.sections.find((s) => s.type === "list");
  expect(list.items).toEqual([
    { name: "排污许可证申请表", meta: "（原件，1份）", note: "加盖公章", text: "", key: "k0" },
    { name: "", meta: "", note: "", text: "环评批复", key: "k1" },
  ]);
  const facts = guide.sections.find((s) => s.type === "facts").rows.map((r) => [r.term, r.value]);
  expect(facts).toEqual([
    ["办理时限", "法定办结时限：20个工作日"],
    ["收费标准", "不收费"],
  ]);
});

test("process answers become numbered steps", () => {
  const guide = display.guideView({ kind: "guide", guide_name: "食品经营许可证核发", aspect: "process" }, "【食品经营许可证核发】办理流程\n1. 申请：提交材料\n2. 受理\n来源：《食品经营许可证核发》办事指南");
  expect(guide.sections).toEqual([{ type: "list", kind: "steps", key: "s0", items: [
    { name: "", meta: "", note: "", text: "申请：提交材料", key: "k0" },
    { name: "", meta: "", note: "", text: "受理", key: "k1" },
  ] }]);
  expect(guide.sources).toEqual(["来源：《食品经营许可证核发》办事指南"]);
});

test("the banner and the 联系管家 button follow the hand-off state as on the web page", () => {
  expect(display.stateView("bot")).toEqual({ state: "bot", text: "智能助手", handoffLabel: "联系管家", handoffDisabled: false });
  expect(display.stateView("waiting")).toMatchObject({ text: "正在为您转接企业管家…", handoffLabel: "转接中…", handoffDisabled: true });
  expect(display.stateView("butler", "何杰")).toMatchObject({ text: "企业管家何杰为您服务", handoffLabel: "管家服务中" });
  expect(display.stateView("nonsense").state).toBe("bot");
});

test("a frame from an unknown sender is shown as a system line, not as the enterprise", () => {
  expect(display.messageView({ seq: 1, from: "hacker", text: "hi" }).from).toBe("system");
});
