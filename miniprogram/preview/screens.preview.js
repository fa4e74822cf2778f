// The H5 preview: renders the mini-program's pages with miniprogram-simulate in jsdom, plays real
// frame shapes into them through the fake wx of the tests, and writes each screen as a standalone
// HTML file (the rendered DOM, the components' compiled WXSS with rpx converted for a 375-px-wide
// phone, the built-in components' default look, a WeChat navigation bar). preview/screenshots.py
// opens those files in Chromium and takes the PNGs in docs/screenshots/.

const fs = require("fs");
const path = require("path");
const simulateUtils = require("miniprogram-simulate/src/utils");
const { installFakeWx, settle } = require("../tests/helpers/fake-wx");
const { ROOT, mount } = require("../tests/helpers/mount");
const frames = require("../tests/helpers/frames");
const { makeCreditCode } = require("../utils/credit-code");

const PHONE_WIDTH = 375; // px; WeChat lays pages out 750 rpx wide
const OUT = process.env.PREVIEW_OUT || path.join(ROOT, "..", "var", "miniprogram-preview");

const rpx = (css) => css.replace(/(-?\d*\.?\d+)rpx/g, (_, n) => `${+((parseFloat(n) * PHONE_WIDTH) / 750).toFixed(2)}px`);
simulateUtils.transformRpx = rpx; // simulate turns 1rpx into 1px; a phone shows half that

// What WeChat's built-in components look like by default, for the tags simulate renders them as.
const BUILTINS = `
wx-view, wx-scroll-view, wx-navigator, wx-form, wx-input, wx-button { display: block; }
wx-text { display: inline; white-space: pre-wrap; }
wx-scroll-view { overflow: visible; }
wx-input { box-sizing: border-box; display: flex; align-items: center; overflow: hidden; white-space: nowrap; }
wx-input[data-value=""]::before { content: attr(data-placeholder); color: #9aa0a6; }
wx-input:not([data-value=""])::before { content: attr(data-value); }
* { -webkit-tap-highlight-color: transparent; }
html, body { margin: 0; }
.nav { position: relative; height: 44px; line-height: 44px; text-align: center; font-size: 17px; font-weight: 600; }
.nav .capsule { position: absolute; right: 7px; top: 6px; width: 87px; height: 32px; box-sizing: border-box;
  border-radius: 16px; border: 1px solid rgba(255,255,255,.45); background: rgba(0,0,0,.12); }
.nav .capsule::before { content: "···"; position: absolute; left: 14px; top: -8px; font-size: 18px; letter-spacing: 1px; }
.nav .capsule::after { content: ""; position: absolute; right: 14px; top: 8px; width: 12px; height: 12px;
  border: 2px solid #fff; border-radius: 50%; }
.nav .back { position: absolute; left: 12px; top: 0; font-size: 22px; font-weight: 400; }
.statusbar { height: 20px; font-size: 12px; line-height: 20px; padding: 0 16px; display: flex; justify-content: space-between; }
`;

/** In the preview the conversation grows with its content, so a full-page screenshot shows all of it. */
const PAGE_OVERRIDES = `
.chat-page--page { height: auto; min-height: calc(100vh - 64px); }
.chat-page--messages { height: auto; flex: 1; }
.bind-page--page { min-height: calc(100vh - 64px); }
`;

function appWxss() {
  const app = fs.readFileSync(path.join(ROOT, "app.wxss"), "utf8");
  return rpx(app).replace(/(^|\n)page\s*\{/g, "$1body {");
}

function pageTitle(page) {
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, `${page}.json`), "utf8"));
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, "app.json"), "utf8"));
  return { title: own.navigationBarTitleText || app.window.navigationBarTitleText, color: app.window.navigationBarBackgroundColor };
}

function writeScreen(name, page, comp, { back = false } = {}) {
  const styles = Array.from(document.head.querySelectorAll("style"), (style) => style.textContent).join("\n");
  const { title, color } = pageTitle(page);
  const html = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=${PHONE_WIDTH}, initial-scale=1">
<title>${title}</title>
<style>${BUILTINS}</style>
<style>${appWxss()}</style>
<style>${styles}</style>
<style>${PAGE_OVERRIDES}</style>
</head><body>
<div style="background:${color};color:#fff">
  <div class="statusbar"><span>9:41</span><span>100%</span></div>
  <div class="nav">${back ? '<span class="back">‹</span>' : ""}${title}<span class="capsule"></span></div>
</div>
${comp.dom.outerHTML}
</body></html>
`;
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, `${name}.html`), html);
}

// Only the clock is faked, so the times of what "the user typed" match the frames' (10:0x Beijing time).
jest.useFakeTimers({
  now: new Date("2026-11-30T10:00:30+08:00"),
  doNotFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate", "nextTick", "queueMicrotask", "hrtime", "performance", "requestAnimationFrame", "cancelAnimationFrame", "requestIdleCallback", "cancelIdleCallback"],
});

/** The phone's clock just before frame `seq` (the frames' times are 10:0<seq>). */
function clockAt(seq) {
  jest.setSystemTime(new Date(`2026-11-30T10:${String(seq).padStart(2, "0")}:01+08:00`));
}

async function chatPage(tagName) {
  const fake = installFakeWx();
  const comp = mount("pages/chat/index", {}, tagName);
  comp.instance.onLoad();
  await settle();
  const socket = fake.sockets[fake.sockets.length - 1];
  socket.open();
  await settle();
  return { fake, comp, socket };
}

async function typeAndSend(comp, text, seq) {
  clockAt(seq);
  comp.querySelector(".input").dispatchEvent("input", { detail: { value: text } });
  await settle();
  comp.querySelector(".send-btn").dispatchEvent("tap");
  await settle();
}

/** Our message goes out; the gateway stores it as `seq` and echoes it. */
async function sent(socket, seq) {
  clockAt(seq);
  const frame = socket.framesOfType("message").slice(-1)[0];
  socket.deliver({ type: "ack", id: frame.id, seq, duplicate: false }, frames.enterprise(seq, frame.text, frame.id));
  await settle();
}

test("chat: a guide card with its materials, then a choice", async () => {
  const { comp, socket } = await chatPage("chat-page");
  await typeAndSend(comp, "食品经营许可证要什么材料", 1);
  await sent(socket, 1);
  socket.deliver(frames.guideMaterials(2));
  await typeAndSend(comp, "许可证变更呢", 3);
  await sent(socket, 3);
  socket.deliver(frames.chooseGuide(4));
  await settle();
  writeScreen("chat-guide", "pages/chat/index", comp);
  comp.instance.onUnload();
});

test("chat: an appeal's ticket card with its light, the butler, the rating prompt", async () => {
  const { comp, socket } = await chatPage("chat-page");
  socket.deliver(frames.appealSummary(1));
  await settle();
  clockAt(2);
  comp.querySelector(".message").querySelector(".choices").querySelectorAll(".chip")[0].dispatchEvent("tap");
  await settle();
  await sent(socket, 2);
  socket.deliver(
    frames.ticket(3, "yellow"),
    { type: "state", state: "butler", butler: "何杰", text: "" },
    frames.butler(4, "张总您好，我是您的企业管家何杰。已联系市场监管局窗口，今天下午给您答复。"),
    frames.rating(5),
  );
  await settle();
  writeScreen("chat-ticket", "pages/chat/index", comp);
  comp.instance.onUnload();
});

test("chat: the assistant cannot answer and offers 联系管家", async () => {
  const { comp, socket } = await chatPage("chat-page");
  await typeAndSend(comp, "园区明年的电价补贴怎么申请", 1);
  await sent(socket, 1);
  socket.deliver(frames.noAnswer(2));
  await settle();
  comp.querySelector(".handoff-btn").dispatchEvent("tap");
  await settle();
  const handoff = socket.framesOfType("handoff")[0];
  socket.deliver({ type: "ack", id: handoff.id, seq: 3, duplicate: false }, { type: "state", state: "waiting", butler: null, text: "" }, frames.system(3, "已为您转接企业管家，请稍候。"));
  await settle();
  writeScreen("chat-handoff", "pages/chat/index", comp);
  comp.instance.onUnload();
});

test("binding: the credit code and the butler's one-time code, with the server's reason", async () => {
  const fake = installFakeWx();
  fake.gateway = (method, p) =>
    p === "/api/miniprogram/login"
      ? { statusCode: 200, data: { token: "t", sender: "mp-1" } }
      : { statusCode: 400, data: { error: "bind_refused", message: "统一社会信用代码或绑定码不正确，请核对后重试（绑定码请向您的企业管家索取）" } };
  const comp = mount("pages/bind/index", {}, "bind-page");
  comp.instance.onLoad();
  comp.querySelector(".credit-code").dispatchEvent("input", { detail: { value: makeCreditCode("91511600MA62XK4P1") } });
  comp.querySelector(".bind-code").dispatchEvent("input", { detail: { value: "483920" } });
  await settle();
  comp.querySelector(".submit").dispatchEvent("tap");
  await settle(12);
  writeScreen("bind", "pages/bind/index", comp, { back: true });
});
