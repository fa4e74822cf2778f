// The chat page as a user sees it: bubbles and cards from real frames, taps that send payloads,
// the 联系管家 button, a dropped socket that resumes without a repeated bubble, and the
// subscribe-message request when an appeal is confirmed.

const path = require("path");
const simulate = require("miniprogram-simulate");
const { installFakeWx, settle } = require("./helpers/fake-wx");
const { ROOT, mount } = require("./helpers/mount");
const frames = require("./helpers/frames");

let fake;
let page;

beforeEach(() => {
  fake = installFakeWx();
  jest.spyOn(Math, "random").mockReturnValue(0); // the first reconnect waits 0.5 s
});

afterEach(() => {
  if (page) page.instance.onUnload();
  page = null;
  jest.restoreAllMocks();
});

async function openPage(tagName = "chat-page") {
  page = mount("pages/chat/index", {}, tagName);
  page.instance.onLoad();
  await settle();
  const socket = fake.sockets[fake.sockets.length - 1];
  socket.open();
  await settle();
  return socket;
}

function bubbles() {
  return page.querySelectorAll(".message").map((bubble) => {
    const msg = bubble.querySelector(".msg").dom;
    return { bubble, from: msg.getAttribute("data-from"), kind: msg.getAttribute("data-kind"), seq: msg.getAttribute("data-seq"), text: msg.textContent };
  });
}

/** What a user does: type in the input bar, then tap 发送. */
async function typeAndSend(text) {
  page.querySelector(".input").dispatchEvent("input", { detail: { value: text } });
  await settle();
  page.querySelector(".send-btn").dispatchEvent("tap");
  await settle();
}

function chips(bubble, container = ".choices") {
  const row = container === ".scores" ? bubble.querySelector(".rating").querySelector(".scores") : bubble.querySelector(container);
  return row.querySelectorAll(".chip");
}

test("a new conversation shows the welcome, the connection state and the 联系管家 button", async () => {
  await openPage();
  expect(page.querySelector(".welcome").dom.textContent).toContain("您好！我是企业管家助手");
  expect(page.querySelector(".conn-status").dom.textContent).toBe("在线");
  expect(page.querySelector(".state-banner").dom.textContent).toBe("智能助手");
  expect(page.querySelector(".handoff-btn").dom.textContent).toBe("联系管家");
  expect(page.querySelector(".bind-link").dom.textContent).toBe("绑定企业");
});

test("every card type is drawn from the frames the gateway sends", async () => {
  const socket = await openPage();
  socket.deliver(
    frames.enterprise(1, "食品经营许可证要什么材料", "from-another-tab"),
    frames.guideMaterials(2),
    frames.chooseGuide(3),
    frames.ticket(4, "red"),
    frames.rating(5),
    frames.butler(6, "您好，我是您的企业管家何杰。"),
    frames.noAnswer(7),
  );
  await settle();
  const shown = bubbles();
  expect(shown.map((b) => [b.seq, b.from, b.kind])).toEqual([
    ["1", "enterprise", ""],
    ["2", "bot", "guide"],
    ["3", "bot", "choose_guide"],
    ["4", "bot", "ticket"],
    ["5", "bot", "rating"],
    ["6", "butler", ""],
    ["7", "bot", "no_answer"],
  ]);
  expect(page.querySelector(".welcome")).toBeUndefined();
  expect(shown[1].bubble.querySelector(".guide").querySelectorAll(".material")).toHaveLength(4);
  expect(chips(shown[2].bubble).map((c) => c.dom.textContent)).toEqual(["食品经营许可证核发", "食品经营许可证变更", "食品经营许可证延续"]);
  const light = shown[3].bubble.querySelector(".ticket").querySelector(".light").dom;
  expect([light.getAttribute("data-light"), shown[3].text]).toEqual(["red", expect.stringContaining("已超时")]);
  expect(chips(shown[4].bubble, ".scores").map((c) => c.dom.textContent)).toEqual(["满意", "基本满意", "不满意"]);
  expect(shown[5].bubble.querySelector(".badge").dom.textContent).toBe("企业管家 · 何杰");
  expect(chips(shown[6].bubble, ".handoff-choices").map((c) => c.dom.textContent)).toEqual(["联系管家"]);
});

test("a tap on a choice sends its payload, shows its title, and the echo does not add a bubble", async () => {
  const socket = await openPage();
  socket.deliver(frames.chooseGuide(1));
  await settle();
  chips(bubbles()[0].bubble)[1].dispatchEvent("tap");
  await settle();
  const sent = socket.framesOfType("message");
  expect(sent).toEqual([{ type: "message", id: expect.any(String), text: '/choose_guide{"guide_id":"510100-SPJY-002","aspect":"materials"}' }]);
  let shown = bubbles();
  expect(shown).toHaveLength(2);
  expect(shown[1].text).toContain("食品经营许可证变更");
  expect(shown[1].text).toContain("发送中…");
  socket.deliver({ type: "ack", id: sent[0].id, seq: 2, duplicate: false }, frames.enterprise(2, sent[0].text, sent[0].id), frames.guideMaterials(3));
  await settle();
  shown = bubbles();
  expect(shown.map((b) => [b.seq, b.from])).toEqual([
    ["1", "bot"],
    ["2", "enterprise"],
    ["3", "bot"],
  ]);
  expect(shown[1].text).toContain("食品经营许可证变更");
  expect(shown[1].text).not.toContain("发送中…");
});

test("typing a question and tapping 发送 sends it and clears the input", async () => {
  const socket = await openPage();
  await typeAndSend("  开饭店要办什么证  ");
  expect(socket.framesOfType("message").map((f) => f.text)).toEqual(["开饭店要办什么证"]);
  expect(page.instance.data.input).toBe("");
  expect(bubbles().map((b) => b.from)).toEqual(["enterprise"]);
});

test("the rating prompt sends the chosen score once and keeps it highlighted", async () => {
  const socket = await openPage();
  socket.deliver(frames.rating(1));
  await settle();
  chips(bubbles()[0].bubble, ".scores")[0].dispatchEvent("tap");
  await settle();
  chips(bubbles()[0].bubble, ".scores")[2].dispatchEvent("tap");
  await settle();
  expect(socket.framesOfType("message").map((f) => f.text)).toEqual(['/rate_ticket{"ticket_number":"GD202611300007","rating_score":"满意"}']);
  const scores = chips(bubbles()[0].bubble, ".scores");
  expect(scores[0].dom.classList.contains("choice-buttons--chosen")).toBe(true);
  expect(bubbles()[1].text).toContain("满意");
});

test("联系管家 sends the hand-off frame; the state frame updates the banner and the button", async () => {
  const socket = await openPage();
  page.querySelector(".handoff-btn").dispatchEvent("tap");
  await settle();
  const [handoff] = socket.framesOfType("handoff");
  expect(handoff).toEqual({ type: "handoff", id: expect.any(String) });
  expect(page.querySelector(".handoff-btn").dom.textContent).toBe("转接中…");
  page.querySelector(".handoff-btn").dispatchEvent("tap"); // a second tap while waiting sends nothing
  await settle();
  expect(socket.framesOfType("handoff")).toHaveLength(1);
  socket.deliver({ type: "ack", id: handoff.id, seq: 1, duplicate: false }, { type: "state", state: "butler", butler: "何杰", text: "" });
  await settle();
  expect(page.querySelector(".state-banner").dom.textContent).toBe("企业管家何杰为您服务");
  expect(page.querySelector(".handoff-btn").dom.textContent).toBe("管家服务中");
});

test("the 联系管家 chip under an unanswered question asks for a person too", async () => {
  const socket = await openPage();
  socket.deliver(frames.noAnswer(1));
  await settle();
  chips(bubbles()[0].bubble, ".handoff-choices")[0].dispatchEvent("tap");
  await settle();
  expect(socket.framesOfType("handoff")).toHaveLength(1);
  expect(socket.framesOfType("message")).toHaveLength(0);
});

test("a drop mid-stream: the page reconnects, resumes after the last seq and repeats no bubble", async () => {
  const first = await openPage();
  first.deliver(frames.enterprise(1, "食品经营许可证要什么材料", "x1"), frames.guideMaterials(2));
  await settle();
  await typeAndSend("要多久");
  const [pending] = first.framesOfType("message");
  first.drop();
  await settle();
  expect(page.querySelector(".conn-status").dom.textContent).toBe("连接已断开，正在重连…");
  await simulate.sleep(600); // backoff: 0.5 s with Math.random() = 0
  await settle();
  const second = fake.sockets[1];
  second.open();
  await settle();
  expect(second.sent).toEqual([
    { type: "resume", after_seq: 2 },
    { type: "message", id: pending.id, text: "要多久" },
  ]);
  // the replay overlaps what the page already has, then brings the echo and the answer
  second.deliver(
    frames.guideMaterials(2),
    frames.enterprise(3, "要多久", pending.id),
    { type: "ack", id: pending.id, seq: 3, duplicate: true },
    frames.guideOverview(4),
  );
  await settle();
  expect(bubbles().map((b) => [b.seq, b.from])).toEqual([
    ["1", "enterprise"],
    ["2", "bot"],
    ["3", "enterprise"],
    ["4", "bot"],
  ]);
  expect(page.querySelector(".conn-status").dom.textContent).toBe("在线");
});

test("a frame that arrives while a message is still sending goes above it, in seq order", async () => {
  const socket = await openPage();
  await typeAndSend("你好");
  socket.deliver(frames.butler(1, "我是何杰，马上为您处理。"));
  await settle();
  expect(bubbles().map((b) => [b.from, b.seq])).toEqual([
    ["butler", "1"],
    ["enterprise", ""],
  ]);
});

test("a refused message shows the server's reason and 重试 sends it again with a new id", async () => {
  const socket = await openPage();
  await typeAndSend("你好");
  const [first] = socket.framesOfType("message");
  socket.deliver({ type: "error", code: "rate_limited", text: "发送太频繁，请稍后再试。", id: first.id });
  await settle();
  const [failed] = bubbles();
  expect(failed.text).toContain("发送太频繁，请稍后再试。");
  failed.bubble.querySelector(".retry").dispatchEvent("tap");
  await settle();
  const sent = socket.framesOfType("message");
  expect(sent.map((f) => f.text)).toEqual(["你好", "你好"]);
  expect(sent[1].id).not.toBe(first.id);
  expect(bubbles()).toHaveLength(1);
});

describe("with subscribe-message templates configured", () => {
  beforeEach(() => {
    jest.doMock(path.join(ROOT, "config"), () => ({
      apiBase: "https://butler.example.gov.cn",
      subscribeTemplateIds: { ticketRouted: "tpl-routed", ticketAnswered: "tpl-answered", ratingRequested: "" },
    }));
  });

  afterEach(() => {
    jest.dontMock(path.join(ROOT, "config"));
  });

  test("confirming an appeal asks for notification permission in the same tap, then files it", async () => {
    const socket = await openPage("chat-page-subscribe");
    socket.deliver(frames.appealSummary(1));
    await settle();
    chips(bubbles()[0].bubble)[0].dispatchEvent("tap");
    await settle();
    expect(fake.subscribeRequests).toEqual([["tpl-routed", "tpl-answered"]]);
    expect(socket.framesOfType("message").map((f) => f.text)).toEqual(["/affirm"]);
    expect(fake.toasts).toEqual(["已开启工单进度通知"]);
    socket.deliver(frames.ticket(2));
    await settle();
    bubbles()[1].bubble.querySelector(".ticket").querySelector(".subscribe").dispatchEvent("tap");
    await settle();
    expect(fake.subscribeRequests).toHaveLength(2);
  });

  test("other confirmations (the category guess) ask for nothing", async () => {
    const socket = await openPage("chat-page-subscribe");
    socket.deliver({ ...frames.chooseGuide(1), text: "根据您的描述，类别应为「审批服务」，对吗？如果不对，请选择正确的类别。", buttons: [{ title: "对", payload: "/affirm" }] });
    await settle();
    chips(bubbles()[0].bubble)[0].dispatchEvent("tap");
    await settle();
    expect(fake.subscribeRequests).toEqual([]);
    expect(socket.framesOfType("message").map((f) => f.text)).toEqual(["/affirm"]);
  });
});

test("without templates configured, no permission is asked and the ticket card has no subscribe button", async () => {
  const socket = await openPage();
  socket.deliver(frames.appealSummary(1), frames.ticket(2));
  await settle();
  chips(bubbles()[0].bubble)[0].dispatchEvent("tap");
  await settle();
  expect(fake.subscribeRequests).toEqual([]);
  expect(bubbles()[1].bubble.querySelector(".ticket").querySelector(".subscribe")).toBeUndefined();
});

test("coming back to the chat shows the enterprise the gateway says the user is bound to", async () => {
  await openPage();
  fake.gateway = (method, p) =>
    method === "GET" && p === "/api/miniprogram/binding" ? { statusCode: 200, data: { bound: true, enterprise_name: "广安市恒远食品有限公司" } } : null;
  page.instance.onShow();
  await settle();
  expect(page.querySelector(".bind-link").dom.textContent).toBe("已绑定：广安市恒远食品有限公司");
  expect(fake.requests.filter((r) => r.path === "/api/miniprogram/binding")[0].header.Authorization).toBe("Bearer token-1");
});
