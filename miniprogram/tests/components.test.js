// Each component rendered by miniprogram-simulate from view models of real frame shapes.

const simulate = require("miniprogram-simulate");
const { messageView } = require("../utils/display");
const frames = require("./helpers/frames");
const { mount: mountAt, texts } = require("./helpers/mount");

const mount = (name, props) => mountAt(`components/${name}/index`, props, name);

describe("guide-card", () => {
  test("shows the item, the aspect and the materials as a numbered list", () => {
    const view = messageView(frames.guideMaterials(2));
    const comp = mount("guide-card", { guide: view.guide });
    expect(comp.querySelector(".guide-name").dom.textContent).toBe("食品经营许可证核发");
    expect(comp.querySelector(".guide-aspect").dom.textContent).toBe("申请材料");
    const items = comp.querySelectorAll(".material");
    expect(items).toHaveLength(4);
    expect(items[0].dom.textContent).toContain("食品经营许可申请书（原件1份）");
    expect(items[1].dom.querySelector(".guide-card--item-name").textContent).toBe("营业执照（复印件1份）");
    expect(items[1].dom.querySelector(".guide-card--item-note").textContent).toBe("加盖企业公章");
    expect(texts(comp, ".source")).toEqual(["来源：《食品经营许可证核发》办事指南，更新于2026-10-12"]);
    // the 【title】 line is in the head, not repeated in the body
    expect(comp.dom.textContent).not.toContain("【");
  });

  test("an overview shows its facts as labelled rows", () => {
    const comp = mount("guide-card", { guide: messageView(frames.guideOverview(3)).guide });
    expect(texts(comp, ".section-title")).toEqual(["申请材料"]);
    const terms = texts(comp, ".term");
    expect(terms).toEqual(expect.arrayContaining(["实施机关", "法定办结时限", "承诺办结时限", "收费标准", "办理地点", "咨询电话", "网上办理"]));
    const rows = comp.querySelectorAll(".row");
    const fee = rows.find((row) => row.dom.querySelector(".guide-card--term").textContent === "收费标准");
    expect(fee.dom.querySelector(".guide-card--value").textContent).toBe("不收费");
  });
});

describe("choice-buttons", () => {
  test("a tap sends the button's payload and title", async () => {
    const view = messageView(frames.chooseGuide(4));
    const comp = mount("choice-buttons", { buttons: view.buttons });
    const chosen = [];
    comp.addEventListener("choose", (event) => chosen.push(event.detail));
    const chips = comp.querySelectorAll(".chip");
    expect(chips.map((chip) => chip.dom.textContent)).toEqual(["食品经营许可证核发", "食品经营许可证变更", "食品经营许可证延续"]);
    chips[1].dispatchEvent("tap");
    await simulate.sleep(0);
    expect(chosen).toEqual([{ payload: '/choose_guide{"guide_id":"510100-SPJY-002","aspect":"materials"}', title: "食品经营许可证变更" }]);
  });

  test("with `once`, the first tap wins and the others are greyed out", async () => {
    const comp = mount("choice-buttons", { buttons: messageView(frames.rating(9)).rating.buttons, once: true });
    const chosen = [];
    comp.addEventListener("choose", (event) => chosen.push(event.detail.title));
    comp.querySelectorAll(".chip")[0].dispatchEvent("tap");
    await simulate.sleep(0);
    comp.querySelectorAll(".chip")[2].dispatchEvent("tap");
    await simulate.sleep(0);
    expect(chosen).toEqual(["满意"]);
    const chips = comp.querySelectorAll(".chip");
    expect(chips[0].dom.classList.contains("choice-buttons--chosen")).toBe(true);
    expect(chips[2].dom.classList.contains("choice-buttons--is-disabled")).toBe(true);
  });
});

describe("ticket-card", () => {
  test.each([
    ["green", "正常"],
    ["yellow", "即将超时"],
    ["red", "已超时"],
    ["done", "已完成"],
  ])("the %s light is drawn with the web page's label %s", (light, label) => {
    const comp = mount("ticket-card", { ticket: messageView(frames.ticket(7, light)).ticket });
    const dot = comp.querySelector(".light");
    expect(dot.dom.getAttribute("data-light")).toBe(light);
    expect(dot.dom.classList.contains(`ticket-card--light-${light}`)).toBe(true);
    expect(comp.querySelector(".light-text").dom.textContent).toBe(label);
  });

  test("shows number, status, category, butler and the deadline in Beijing time", () => {
    const comp = mount("ticket-card", { ticket: messageView(frames.ticket(7)).ticket });
    expect(comp.querySelector(".ticket-number").dom.textContent).toBe("工单 GD202611300007");
    expect(comp.querySelector(".ticket-status").dom.textContent).toBe("已受理");
    expect(comp.querySelector(".category").dom.textContent).toBe("审批服务");
    expect(comp.querySelector(".butler-name").dom.textContent).toBe("何杰");
    // 06:00 UTC is 14:00 in Beijing
    expect(comp.querySelector(".deadline-text").dom.textContent).toBe("联系企业：2026年11月30日 14:00前");
    expect(comp.querySelector(".subscribe")).toBeUndefined();
  });

  test("an unknown light is grey and unlabelled, not green", () => {
    const comp = mount("ticket-card", { ticket: messageView(frames.ticket(7, "purple")).ticket });
    expect(comp.querySelector(".light").dom.getAttribute("data-light")).toBe("unknown");
    expect(comp.querySelector(".light-text").dom.textContent).toBe("");
  });

  test("a tap on the phone asks to call the butler; the subscribe button asks for notifications", async () => {
    const comp = mount("ticket-card", { ticket: messageView(frames.ticket(7)).ticket, subscribable: true });
    const events = [];
    comp.addEventListener("call", (event) => events.push(["call", event.detail.phone]));
    comp.addEventListener("subscribe", (event) => events.push(["subscribe", event.detail.number]));
    comp.querySelector(".butler-phone").dispatchEvent("tap");
    comp.querySelector(".subscribe").dispatchEvent("tap");
    await simulate.sleep(0);
    expect(events).toEqual([
      ["call", "0826-2345601"],
      ["subscribe", "GD202611300007"],
    ]);
  });

  test("a ticket waiting for a rating says so", () => {
    const view = messageView(frames.ticket(7, "done", { status: "answered", status_label: "已反馈，待评价", awaiting_rating: true }));
    const comp = mount("ticket-card", { ticket: view.ticket });
    expect(comp.querySelector(".ticket-hint").dom.textContent).toBe("管家已反馈办理结果，请您评价。");
  });
});

describe("rating-prompt", () => {
  test("shows the bot's buttons for the ticket and sends the chosen score once", async () => {
    const view = messageView(frames.rating(9));
    const comp = mount("rating-prompt", { rating: view.rating });
    expect(comp.querySelector(".title").dom.textContent).toBe("请您评价办理结果");
    expect(comp.querySelector(".number").dom.textContent).toBe("工单 GD202611300007");
    const chosen = [];
    comp.addEventListener("choose", (event) => chosen.push(event.detail.payload));
    const buttons = comp.querySelector(".scores");
    expect(texts(buttons, ".chip")).toEqual(["满意", "基本满意", "不满意"]);
    buttons.querySelectorAll(".chip")[1].dispatchEvent("tap");
    await simulate.sleep(0);
    buttons.querySelectorAll(".chip")[0].dispatchEvent("tap");
    await simulate.sleep(0);
    expect(chosen).toEqual(['/rate_ticket{"ticket_number":"GD202611300007","rating_score":"基本满意"}']);
  });

  test("a score scale from the bot (1–5) is shown as sent", () => {
    const frame = { ...frames.rating(9), buttons: [1, 2, 3, 4, 5].map((n) => ({ title: `${n}分`, payload: `/rate_ticket{"rating_score":"${n}"}` })) };
    const comp = mount("rating-prompt", { rating: messageView(frame).rating });
    expect(texts(comp.querySelector(".scores"), ".chip")).toEqual(["1分", "2分", "3分", "4分", "5分"]);
  });

  test("without buttons, the prompt offers the three scores for its ticket", () => {
    const frame = { ...frames.rating(9), buttons: undefined };
    const rating = messageView(frame).rating;
    expect(rating.buttons.map((b) => b.title)).toEqual(["满意", "基本满意", "不满意"]);
    expect(rating.buttons[2].payload).toBe('/rate_ticket{"ticket_number":"GD202611300007","rating_score":"不满意"}');
  });
});

describe("message-bubble", () => {
  test.each([
    ["enterprise", frames.enterprise(1, "食品经营许可证要什么材料", "c1"), "", "食品经营许可证要什么材料"],
    ["bot", frames.noAnswer(2), "智能助手", "抱歉，知识库里暂时没有"],
    ["butler", frames.butler(3, "您好，我是您的企业管家何杰。"), "企业管家 · 何杰", "您好，我是您的企业管家何杰。"],
    ["system", frames.system(4, "企业管家何杰已接入对话"), "", "企业管家何杰已接入对话"],
  ])("a %s frame is a bubble with its badge and text", (from, frame, badge, text) => {
    const comp = mount("message-bubble", { message: messageView(frame) });
    const msg = comp.querySelector(".msg");
    expect(msg.dom.getAttribute("data-from")).toBe(from);
    expect(msg.dom.classList.contains(`message-bubble--from-${from}`)).toBe(true);
    const badgeNode = comp.querySelector(".badge");
    expect(badgeNode ? badgeNode.dom.textContent : "").toBe(badge);
    expect(comp.querySelector(".text").dom.textContent).toContain(text);
    expect(comp.querySelector(".time").dom.textContent).toBe(`10:0${frame.seq}`);
  });

  test("a guide frame is drawn as a guide card, not as raw text", () => {
    const comp = mount("message-bubble", { message: messageView(frames.guideMaterials(2)) });
    expect(comp.querySelector(".text")).toBeUndefined();
    const card = comp.querySelector(".guide");
    expect(card.querySelectorAll(".material")).toHaveLength(4);
  });

  test("a ticket frame shows the receipt and the ticket card", () => {
    const comp = mount("message-bubble", { message: messageView(frames.ticket(5, "yellow")) });
    expect(comp.querySelector(".text").dom.textContent).toContain("工单号 GD202611300007");
    expect(comp.querySelector(".ticket").querySelector(".light").dom.getAttribute("data-light")).toBe("yellow");
  });

  test("choices and ratings reach the page with the bubble's key", async () => {
    const comp = mount("message-bubble", { message: messageView(frames.rating(9)) });
    const got = [];
    comp.addEventListener("choose", (event) => got.push(event.detail));
    comp.querySelector(".rating").querySelector(".scores").querySelectorAll(".chip")[0].dispatchEvent("tap");
    await simulate.sleep(0);
    expect(got).toEqual([{ payload: '/rate_ticket{"ticket_number":"GD202611300007","rating_score":"满意"}', title: "满意", key: "seq-9" }]);
  });

  test("when the assistant cannot answer, the bubble offers 联系管家", async () => {
    const comp = mount("message-bubble", { message: messageView(frames.noAnswer(2)) });
    let asked = 0;
    comp.addEventListener("handoff", () => {
      asked += 1;
    });
    const chip = comp.querySelector(".handoff-choices").querySelector(".chip");
    expect(chip.dom.textContent).toBe("联系管家");
    chip.dispatchEvent("tap");
    await simulate.sleep(0);
    expect(asked).toBe(1);
  });

  test("a link in the text is copied on tap (a mini-program cannot open it)", async () => {
    const frame = frames.butler(3, "请在 https://www.sczwfw.gov.cn/jiq/front/item/qx_index 上传材料。");
    const comp = mount("message-bubble", { message: messageView(frame) });
    const copied = [];
    comp.addEventListener("copy", (event) => copied.push(event.detail.text));
    const link = comp.querySelector(".link");
    expect(link.dom.textContent).toBe("https://www.sczwfw.gov.cn/jiq/front/item/qx_index");
    link.dispatchEvent("tap");
    await simulate.sleep(0);
    expect(copied).toEqual(["https://www.sczwfw.gov.cn/jiq/front/item/qx_index"]);
  });

  test("a message being sent says so; a refused one shows the reason and 重试", () => {
    const view = { ...messageView(frames.enterprise(null, "你好", "c9")), seq: null, pending: true };
    const sending = mount("message-bubble", { message: view });
    expect(sending.querySelector(".send-state").dom.textContent).toBe("发送中…");
    const failed = mount("message-bubble", { message: { ...view, pending: false, failed: "发送太频繁，请稍后再试。" } });
    expect(failed.querySelector(".fail-reason").dom.textContent).toBe("发送太频繁，请稍后再试。");
    expect(failed.querySelector(".retry").dom.textContent).toBe("重试");
  });
});
