// A scripted WeChat runtime for the tests: storage, wx.login, wx.request routed to a handler that
// plays the gateway, and wx.connectSocket returning sockets the test drives (open, deliver, drop).
// Only what the mini-program calls is faked; everything it sends is recorded for assertions.

class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    this.handlers = { open: [], message: [], close: [], error: [] };
  }

  onOpen(cb) {
    this.handlers.open.push(cb);
  }

  onMessage(cb) {
    this.handlers.message.push(cb);
  }

  onClose(cb) {
    this.handlers.close.push(cb);
  }

  onError(cb) {
    this.handlers.error.push(cb);
  }

  send({ data }) {
    if (this.closed) throw new Error("send on a closed socket");
    this.sent.push(JSON.parse(data));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.handlers.close.forEach((cb) => cb({ code: 1000, reason: "" }));
  }

  // ---- the server's side
  open() {
    this.handlers.open.forEach((cb) => cb({}));
  }

  deliver(...frames) {
    for (const frame of frames) this.handlers.message.forEach((cb) => cb({ data: JSON.stringify(frame) }));
  }

  /** The network drops the connection (no close handshake): wx reports an error, then the close. */
  drop() {
    if (this.closed) return;
    this.closed = true;
    this.handlers.error.forEach((cb) => cb({ errMsg: "connection lost" }));
    this.handlers.close.forEach((cb) => cb({ code: 1006, reason: "abnormal closure" }));
  }

  framesOfType(type) {
    return this.sent.filter((frame) => frame.type === type);
  }
}

/**
 * Install the fake on the global `wx`. `gateway(method, path, data, header)` answers HTTP requests
 * with {statusCode, data}, or null to fail the request as a network error.
 */
function installFakeWx({ gateway } = {}) {
  const storage = new Map();
  const fake = {
    storage,
    requests: [],
    sockets: [],
    toasts: [],
    clipboard: [],
    calls: [],
    subscribeRequests: [],
    subscribeAnswer: "accept",
    loginCount: 0,
    gateway:
      gateway ||
      ((method, path) => {
        if (method === "POST" && path === "/api/miniprogram/login") {
          return { statusCode: 200, data: { token: `token-${fake.loginCount}`, sender: "mp-3f2a9c" } };
        }
        return { statusCode: 404, data: { error: "not_found", message: "未找到" } };
      }),

    getStorageSync(key) {
      return storage.has(key) ? JSON.parse(storage.get(key)) : "";
    },
    setStorageSync(key, value) {
      storage.set(key, JSON.stringify(value));
    },
    removeStorageSync(key) {
      storage.delete(key);
    },
    login({ success }) {
      fake.loginCount += 1;
      const code = `wx-code-${fake.loginCount}`;
      setTimeout(() => success({ code, errMsg: "login:ok" }), 0);
    },
    request(options) {
      const url = new URL(options.url);
      const record = { method: options.method, url: options.url, path: url.pathname, query: url.search, data: options.data, header: options.header };
      fake.requests.push(record);
      setTimeout(() => {
        const answer = fake.gateway(record.method, record.path, record.data, record.header, record);
        if (!answer) options.fail({ errMsg: "request:fail" });
        else options.success({ statusCode: answer.statusCode, data: answer.data, header: {} });
      }, 0);
      return { abort() {} };
    },
    connectSocket({ url }) {
      const socket = new FakeSocket(url);
      fake.sockets.push(socket);
      return socket;
    },
    requestSubscribeMessage(options) {
      fake.subscribeRequests.push(options.tmplIds.slice());
      const result = { errMsg: "requestSubscribeMessage:ok" };
      options.tmplIds.forEach((id) => {
        result[id] = fake.subscribeAnswer;
      });
      setTimeout(() => options.success(result), 0);
    },
    showToast(options) {
      fake.toasts.push(options.title);
    },
    setClipboardData(options) {
      fake.clipboard.push(options.data);
      if (options.success) options.success({});
    },
    makePhoneCall(options) {
      fake.calls.push(options.phoneNumber);
    },
    navigateBack() {},
  };
  Object.assign(global.wx, fake);
  return fake;
}

/** Let timers, promises and simulate's asynchronous renders run. */
async function settle(rounds = 8) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setTimeout(resolve, 0));
}

module.exports = { FakeSocket, installFakeWx, settle };
