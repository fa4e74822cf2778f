// The protocol client against a scripted wx: log-in, resume after a drop, de-duplication by seq,
// the pending queue re-sent with the same client ids, and a token that expired.

const { ChatClient, backoffDelay } = require("../utils/chat-client");
const { installFakeWx, settle } = require("./helpers/fake-wx");
const frames = require("./helpers/frames");

function start(options = {}) {
  const events = [];
  const client = new ChatClient({ onEvent: (type, payload) => events.push([type, payload]), retryDelay: () => 0, ...options });
  client.start();
  const shown = () => events.filter(([type]) => type === "frame").map(([, frame]) => frame.seq);
  return { client, events, shown };
}

let fake;
beforeEach(() => {
  fake = installFakeWx();
});

test("logs in with the wx.login code, keeps the token and opens the socket with it", async () => {
  const { client } = start();
  await settle();
  expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/api/miniprogram/login", data: { code: "wx-code-1" } });
  expect(fake.getStorageSync("butler.session")).toEqual({ token: "token-1", sender: "mp-3f2a9c" });
  expect(fake.sockets[0].url).toBe("wss://butler.example.gov.cn/api/chat/ws?token=token-1");
  fake.sockets[0].open();
  expect(fake.sockets[0].sent).toEqual([{ type: "resume", after_seq: 0 }]);
  client.stop();
});

test("the app and the page asking for a session at the same time log in once", async () => {
  const api = require("../utils/api");
  const [a, b] = await Promise.all([api.ensureSession(), api.ensureSession()]);
  expect(a).toEqual(b);
  expect(fake.loginCount).toBe(1);
  expect(fake.requests.map((r) => r.path)).toEqual(["/api/miniprogram/login"]);
});

test("a stored session is reused without logging in again", async () => {
  fake.setStorageSync("butler.session", { token: "kept-token", sender: "mp-1" });
  const { client } = start();
  await settle();
  expect(fake.requests).toHaveLength(0);
  expect(fake.sockets[0].url).toContain("token=kept-token");
  client.stop();
});

test("after a drop mid-stream it resumes after the last seq and shows nothing twice", async () => {
  const { client, shown } = start();
  await settle();
  const first = fake.sockets[0];
  first.open();
  first.deliver(frames.enterprise(1, "你好", "other-tab"), frames.guideMaterials(2), frames.chooseGuide(3));
  first.drop();
  await settle();
  const second = fake.sockets[1];
  second.open();
  expect(second.sent[0]).toEqual({ type: "resume", after_seq: 3 });
  // the server replays an overlap (3) before the frames the phone missed
  second.deliver(frames.chooseGuide(3), frames.ticket(4), frames.rating(5));
  expect(shown()).toEqual([1, 2, 3, 4, 5]);
  expect(fake.getStorageSync("butler.lastSeq.mp-3f2a9c")).toBe(5);
  client.stop();
});

test("a message not yet acked is re-sent with the same id after a reconnect; the duplicate ack shows it once", async () => {
  const { client, events, shown } = start();
  await settle();
  fake.sockets[0].open();
  fake.sockets[0].deliver(frames.noAnswer(1));
  const id = client.send("食品经营许可证要什么材料");
  expect(fake.sockets[0].framesOfType("message")).toEqual([{ type: "message", id, text: "食品经营许可证要什么材料" }]);
  fake.sockets[0].drop(); // before the ack arrived
  await settle();
  const second = fake.sockets[1];
  second.open();
  expect(second.sent).toEqual([
    { type: "resume", after_seq: 1 },
    { type: "message", id, text: "食品经营许可证要什么材料" },
  ]);
  // the server had stored it: the replay brings the echo, then the duplicate's ack
  second.deliver(frames.enterprise(2, "食品经营许可证要什么材料", id), { type: "ack", id, seq: 2, duplicate: true }, frames.guideMaterials(3));
  expect(shown()).toEqual([1, 2, 3]);
  expect(client.pending.size).toBe(0);
  expect(fake.getStorageSync("butler.pending.mp-3f2a9c")).toEqual([]);
  const echo = events.find(([type, frame]) => type === "frame" && frame.seq === 2)[1];
  expect(echo._display).toBe("食品经营许可证要什么材料");
  client.stop();
});

test("messages typed while offline wait in order and go out when the socket opens", async () => {
  const { client } = start();
  await settle();
  const a = client.send("第一条");
  const b = client.send("/choose_guide{\"guide_id\":\"510100-SPJY-002\",\"aspect\":\"materials\"}", "食品经营许可证变更");
  const h = client.handoff();
  expect(fake.getStorageSync("butler.pending.mp-3f2a9c").map(([id]) => id)).toEqual([a, b, h]);
  fake.sockets[0].open();
  expect(fake.sockets[0].sent.map((f) => [f.type, f.id])).toEqual([
    ["resume", undefined],
    ["message", a],
    ["message", b],
    ["handoff", h],
  ]);
  client.stop();
});

test("the ack of a message counts its seq, so its echo after a resume is not shown again", async () => {
  const { client, events, shown } = start();
  await settle();
  fake.sockets[0].open();
  const id = client.send("你好");
  fake.sockets[0].deliver({ type: "ack", id, seq: 1, duplicate: false });
  expect(events.filter(([type]) => type === "sent")).toEqual([["sent", { id, seq: 1, type: "message" }]]);
  fake.sockets[0].drop();
  await settle();
  fake.sockets[1].open();
  fake.sockets[1].deliver(frames.enterprise(1, "你好", id), frames.noAnswer(2));
  expect(shown()).toEqual([2]);
  client.stop();
});

test("an app restart keeps the conversation: history, last seq and unsent messages come back", async () => {
  const first = start();
  await settle();
  fake.sockets[0].open();
  fake.sockets[0].deliver(frames.guideMaterials(1), frames.ticket(2));
  const id = first.client.send("还有别的吗");
  first.client.stop();
  const second = start();
  await settle();
  const session = second.events.find(([type]) => type === "session")[1];
  expect(session.history.map((f) => f.seq)).toEqual([1, 2]);
  expect(session.pending).toEqual([{ id, type: "message", text: "还有别的吗", display: "还有别的吗" }]);
  fake.sockets[1].open();
  expect(fake.sockets[1].sent).toEqual([
    { type: "resume", after_seq: 2 },
    { type: "message", id, text: "还有别的吗" },
  ]);
  fake.sockets[1].deliver(frames.ticket(2));
  expect(second.shown()).toEqual([]);
  second.client.stop();
});

test("a refused message is reported with the server's reason and leaves the queue", async () => {
  const { client, events } = start();
  await settle();
  fake.sockets[0].open();
  const id = client.send("太快了");
  fake.sockets[0].deliver({ type: "error", code: "rate_limited", text: "发送太频繁，请稍后再试。", id });
  expect(events.filter(([type]) => type === "failed")).toEqual([["failed", { id, text: "发送太频繁，请稍后再试。" }]]);
  expect(client.pending.size).toBe(0);
  client.stop();
});

test("a socket refused before opening is checked over HTTP; an expired token logs in again", async () => {
  fake.setStorageSync("butler.session", { token: "expired", sender: "mp-3f2a9c" });
  fake.gateway = (method, path, data, header) => {
    if (path === "/api/chat/messages") {
      return header.Authorization === "Bearer expired"
        ? { statusCode: 401, data: { error: "unauthorized", message: "会话已过期" } }
        : { statusCode: 200, data: { frames: [], last_seq: 0 } };
    }
    if (path === "/api/miniprogram/login") return { statusCode: 200, data: { token: "fresh", sender: "mp-3f2a9c" } };
    return null;
  };
  const { client, events } = start();
  await settle();
  fake.sockets[0].drop(); // the 401 on the upgrade: wx reports an error, never an open
  await settle(16);
  expect(fake.requests.map((r) => `${r.method} ${r.path}${r.query}`)).toEqual([
    "GET /api/chat/messages?after_seq=0",
    "POST /api/miniprogram/login",
  ]);
  expect(fake.sockets[1].url).toContain("token=fresh");
  expect(events.some(([type, p]) => type === "notice" && p.text === "登录已过期，正在重新登录…")).toBe(true);
  client.stop();
});

test("frames the phone missed while the socket would not open arrive over HTTP, once", async () => {
  fake.setStorageSync("butler.session", { token: "t", sender: "mp-3f2a9c" });
  fake.gateway = (method, path) =>
    path === "/api/chat/messages" ? { statusCode: 200, data: { frames: [frames.butler(1, "您好，我是何杰。")], last_seq: 1, state: { type: "state", state: "butler", butler: "何杰", text: "" } } } : null;
  const { client, events, shown } = start();
  await settle();
  fake.sockets[0].drop();
  await settle(16);
  fake.sockets[1].open();
  expect(fake.sockets[1].sent[0]).toEqual({ type: "resume", after_seq: 1 });
  fake.sockets[1].deliver(frames.butler(1, "您好，我是何杰。"));
  expect(shown()).toEqual([1]);
  expect(events.filter(([type]) => type === "state").map(([, s]) => s.state)).toEqual(["butler"]);
  client.stop();
});

test("reconnects back off: 0.5–1 s at first, never more than 30 s", () => {
  expect(backoffDelay(0, () => 0)).toBe(500);
  expect(backoffDelay(0, () => 0.999)).toBeLessThan(1000);
  expect(backoffDelay(3, () => 0)).toBe(4000);
  expect(backoffDelay(50, () => 0.999)).toBeLessThanOrEqual(30000);
});

test("a message over 2,000 characters is not sent and the user is told why", async () => {
  const { client, events } = start();
  await settle();
  expect(client.send("长".repeat(2001))).toBeNull();
  expect(events.find(([type]) => type === "notice")[1].text).toBe("消息太长了，请控制在2000字以内。");
  client.stop();
});

describe("when the network blocks the socket but HTTP works", () => {
  const butlerReply = frames.butler(3, "您好，我是何杰，材料清单已发给您。");
  let posted;
  let served;

  beforeEach(() => {
    fake.setStorageSync("butler.session", { token: "t", sender: "mp-3f2a9c" });
    posted = [];
    served = []; // frames the gateway has stored, by seq
    fake.gateway = (method, path, data, header, record) => {
      if (path !== "/api/chat/messages") return null;
      if (method === "POST") {
        posted.push(data);
        const seq = served.length + 1;
        served.push(frames.enterprise(seq, data.text, data.id), frames.guideMaterials(seq + 1));
        return { statusCode: 200, data: { ack: { id: data.id, seq, duplicate: false }, frames: served.slice(seq - 1), last_seq: seq + 1, state: { type: "state", state: "bot", butler: null, text: "" } } };
      }
      const after = Number(new URLSearchParams(record.query).get("after_seq"));
      return { statusCode: 200, data: { frames: served.filter((f) => f.seq > after), last_seq: served.length, state: { type: "state", state: "bot", butler: null, text: "" } } };
    };
  });

  /** Three sockets that never open, as behind a proxy that refuses wss. */
  async function fallBack(client) {
    for (let i = 0; i < 3; i += 1) {
      await settle();
      fake.sockets[i].drop();
      await settle(12);
    }
    expect(client.httpMode).toBe(true);
  }

  test("after three sockets that never open it sends and polls over HTTP, showing each frame once", async () => {
    const { client, events, shown } = start({ pollMs: 5, socketRetryMs: 60000 });
    await fallBack(client);
    expect(events.filter(([type]) => type === "status").pop()[1]).toEqual({ status: "fallback", text: "在线（兼容模式）" });
    const id = client.send("食品经营许可证要什么材料");
    await settle(12);
    expect(posted).toEqual([{ id, text: "食品经营许可证要什么材料" }]);
    expect(shown()).toEqual([1, 2]);
    expect(client.pending.size).toBe(0);
    served.push(butlerReply); // the butler answers; the next poll brings it
    await settle(30);
    expect(shown()).toEqual([1, 2, 3]);
    const polls = fake.requests.filter((r) => r.method === "GET");
    expect(polls[polls.length - 1].query).toBe("?after_seq=3");
    expect(fake.sockets).toHaveLength(3); // the socket is tried again only after socketRetryMs
    client.stop();
  });

  test("a message the HTTP send could not deliver is posted again with the same id", async () => {
    const { client } = start({ pollMs: 5, socketRetryMs: 60000 });
    await fallBack(client);
    const gateway = fake.gateway;
    let down = true;
    fake.gateway = (method, ...rest) => (down && method === "POST" ? null : gateway(method, ...rest));
    const id = client.send("你好");
    await settle(6);
    expect(client.pending.has(id)).toBe(true);
    down = false;
    await settle(30);
    expect(posted).toEqual([{ id, text: "你好" }]);
    expect(client.pending.size).toBe(0);
    client.stop();
  });

  test("when the socket opens again, polling stops and the socket resumes", async () => {
    const { client, events } = start({ pollMs: 5, socketRetryMs: 60000 });
    await fallBack(client);
    client.wake(); // e.g. the app comes back to the foreground
    await settle();
    fake.sockets[3].open();
    expect(fake.sockets[3].sent[0]).toEqual({ type: "resume", after_seq: 0 });
    expect(client.httpMode).toBe(false);
    expect(events.filter(([type]) => type === "status").pop()[1].status).toBe("online");
    const polled = fake.requests.filter((r) => r.method === "GET").length;
    await settle(30);
    expect(fake.requests.filter((r) => r.method === "GET")).toHaveLength(polled);
    client.stop();
  });
});
