// The chat protocol client (docs/chat-protocol.md) over wx.connectSocket.
//
// Why it is shaped like this: a phone drops its socket often (lifts, tunnels, the app going to the
// background), and a government service must not lose or repeat a message when that happens. So:
// - every conversation frame has a seq; the client keeps the last one and, after each reconnect,
//   sends {"type":"resume","after_seq":N}; frames are de-duplicated by seq, so nothing shows twice;
// - a message waits in a pending queue (kept in storage) until the server acks it, and is re-sent
//   with the same client id after a reconnect; the server acks a duplicate without running it twice;
// - reconnects back off exponentially with jitter, and a socket that will not open is checked over
//   HTTP (which also fetches what was missed); a 401 there means the token expired: log in again;
// - when HTTP works but the socket keeps failing (a network that blocks wss), the client falls back
//   to the protocol's HTTP mode (POST and poll /api/chat/messages) and tries the socket now and then.
// The page gets events and draws them; this module touches no page data.

const api = require("./api");
const { newClientId } = require("./ids");

const MAX_HISTORY = 200; // frames kept to redraw the page after the app restarts
const MAX_TEXT = 2000; // the server refuses longer messages
const PING_MS = 25000;
const POLL_MS = 3000; // HTTP mode: how often to ask for new frames
const SOCKET_RETRY_IN_HTTP_MS = 30000; // HTTP mode: how often to try the socket again
const FAILURES_BEFORE_HTTP = 3;

const keys = {
  lastSeq: (sender) => `butler.lastSeq.${sender}`,
  history: (sender) => `butler.history.${sender}`,
  pending: (sender) => `butler.pending.${sender}`,
  state: (sender) => `butler.state.${sender}`,
};

/** 1 s, 2 s, 4 s … up to 30 s, each between half and all of it, so phones do not retry in step. */
function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
  return base / 2 + random() * (base / 2);
}

class ChatClient {
  /**
   * onEvent(type, payload) receives: session {sender, history, pending, state}, frame, sent {id, seq},
   * failed {id, text}, state, status {status, text}, notice {text}.
   */
  constructor({ onEvent, retryDelay = backoffDelay, pingMs = PING_MS, pollMs = POLL_MS, socketRetryMs = SOCKET_RETRY_IN_HTTP_MS } = {}) {
    this.onEvent = onEvent || (() => {});
    this.retryDelay = retryDelay;
    this.pingMs = pingMs;
    this.pollMs = pollMs;
    this.socketRetryMs = socketRetryMs;
    this.failures = 0; // sockets in a row that never opened
    this.httpMode = false;
    this.pollTimer = null;
    this.posting = new Set(); // client ids with a POST in flight
    this.session = null;
    this.lastSeq = 0;
    this.seen = new Set();
    this.history = [];
    this.pending = new Map(); // client id -> {type, text, display}
    this.socket = null;
    this.opened = false;
    this.connecting = false;
    this.stopped = true;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pingTimer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.stopHttpMode();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close({});
  }

  /** The app came back to the foreground: reconnect now instead of waiting out the backoff. */
  wake() {
    if (this.stopped) return;
    this.attempt = 0;
    if (!this.socket) this.connect();
  }

  get online() {
    return Boolean(this.socket && this.opened);
  }

  // ------------------------------------------------------------ sending

  /** Queue a message (or a button's payload) and send it when the socket allows; returns its client id. */
  send(text, display) {
    const value = String(text == null ? "" : text);
    if (!value.trim()) return null;
    if (value.length > MAX_TEXT) {
      this.emit("notice", { text: `消息太长了，请控制在${MAX_TEXT}字以内。` });
      return null;
    }
    const id = newClientId();
    this.pending.set(id, { type: "message", text: value, display: display || value });
    this.savePending();
    this.transmit({ type: "message", id, text: value });
    return id;
  }

  /** The 联系管家 button: ask for a person. */
  handoff() {
    const id = newClientId();
    this.pending.set(id, { type: "handoff", text: "联系管家", display: "联系管家" });
    this.savePending();
    if (!this.transmit({ type: "handoff", id })) {
      this.emit("notice", { text: "网络连接中，连接后将为您转接企业管家。" });
    }
    return id;
  }

  /** Through the open socket, else over HTTP in fallback mode; false when it has to wait. */
  transmit(frame) {
    if (this.online) {
      this.socket.send({ data: JSON.stringify(frame) });
      return true;
    }
    if (this.httpMode && frame.type !== "ping") {
      this.post(frame);
      return true;
    }
    return false;
  }

  flushPending() {
    for (const [id, item] of this.pending) {
      this.transmit(item.type === "handoff" ? { type: "handoff", id } : { type: "message", id, text: item.text });
    }
  }

  // ------------------------------------------------------------ storage

  loadConversation(session) {
    this.session = session;
    this.lastSeq = Number(wx.getStorageSync(keys.lastSeq(session.sender))) || 0;
    const history = wx.getStorageSync(keys.history(session.sender));
    this.history = Array.isArray(history) ? history : [];
    this.seen = new Set(this.history.map((f) => f.seq).filter((s) => typeof s === "number"));
    const pending = wx.getStorageSync(keys.pending(session.sender));
    this.pending = new Map(Array.isArray(pending) ? pending : []);
    const state = wx.getStorageSync(keys.state(session.sender)) || null;
    this.emit("session", {
      sender: session.sender,
      history: this.history.slice(),
      pending: Array.from(this.pending, ([id, item]) => ({ id, ...item })),
      state,
    });
  }

  savePending() {
    if (this.session) wx.setStorageSync(keys.pending(this.session.sender), Array.from(this.pending));
  }

  remember(frame) {
    this.history.push(frame);
    if (this.history.length > MAX_HISTORY) this.history = this.history.slice(-MAX_HISTORY);
    if (this.session) wx.setStorageSync(keys.history(this.session.sender), this.history);
  }

  setLastSeq(seq) {
    if (!this.session || seq <= this.lastSeq) return;
    this.lastSeq = seq;
    wx.setStorageSync(keys.lastSeq(this.session.sender), seq);
  }

  // ------------------------------------------------------------ connection

  async connect() {
    clearTimeout(this.reconnectTimer);
    if (this.stopped || this.connecting || this.socket) return;
    this.connecting = true;
    let session;
    try {
      session = await api.ensureSession();
    } catch (error) {
      this.connecting = false;
      this.emit("status", { status: "offline", text: "连接失败，正在重试…" });
      this.scheduleReconnect();
      return;
    }
    this.connecting = false;
    if (this.stopped) return;
    if (!this.session || this.session.sender !== session.sender) this.loadConversation(session);
    else this.session = session;
    this.emit("status", { status: "connecting", text: "连接中…" });
    const socket = wx.connectSocket({ url: api.socketUrl(session.token), fail: () => this.lost(socket) });
    this.socket = socket;
    this.opened = false;
    socket.onOpen(() => {
      if (this.socket !== socket) return;
      this.opened = true;
      this.attempt = 0;
      this.failures = 0;
      this.stopHttpMode();
      this.emit("status", { status: "online", text: "在线" });
      socket.send({ data: JSON.stringify({ type: "resume", after_seq: this.lastSeq }) });
      this.flushPending();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.transmit({ type: "ping" }), this.pingMs);
    });
    socket.onMessage((res) => {
      if (this.socket !== socket) return;
      let frame;
      try {
        frame = JSON.parse(res.data);
      } catch (error) {
        return;
      }
      this.handleFrame(frame);
    });
    socket.onClose(() => this.lost(socket));
    socket.onError(() => this.lost(socket));
  }

  /** A socket closed or failed (wx may report both): handled once per socket. */
  lost(socket) {
    if (this.socket !== socket) return;
    const wasOpen = this.opened;
    this.socket = null;
    this.opened = false;
    clearInterval(this.pingTimer);
    if (this.stopped) return;
    if (!this.httpMode) this.emit("status", { status: "offline", text: "连接已断开，正在重连…" });
    if (wasOpen) {
      this.scheduleReconnect();
      return;
    }
    this.failures += 1;
    this.checkOverHttp().then(
      () => {
        // HTTP works but the socket does not: use HTTP and try the socket again later
        if (this.failures < FAILURES_BEFORE_HTTP) this.scheduleReconnect();
        else {
          this.startHttpMode();
          this.scheduleReconnect(this.socketRetryMs);
        }
      },
      () => this.scheduleReconnect(),
    );
  }

  /** The socket would not open: is the token still good? Fetches missed frames on the way. */
  async checkOverHttp() {
    if (!this.session) return;
    try {
      this.applyHttpAnswer(await api.request("GET", `${api.PATHS.messages}?after_seq=${this.lastSeq}`, undefined, this.session.token));
    } catch (error) {
      if (error.status === 401) this.tokenExpired();
      throw error;
    }
  }

  tokenExpired() {
    api.dropSession();
    this.emit("notice", { text: "登录已过期，正在重新登录…" });
    this.attempt = 0;
  }

  /** Frames (and where the conversation stands) from an HTTP answer: shown once, like socket frames. */
  applyHttpAnswer(data) {
    for (const frame of (data && data.frames) || []) this.handleFrame(frame);
    if (data && data.state && data.state.state) this.handleFrame({ type: "state", ...data.state });
  }

  scheduleReconnect(delay) {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    let wait = delay;
    if (wait === undefined) {
      wait = this.retryDelay(this.attempt);
      this.attempt += 1;
    }
    this.reconnectTimer = setTimeout(() => this.connect(), wait);
  }

  // ------------------------------------------------------------ HTTP mode (docs/chat-protocol.md §3)

  startHttpMode() {
    if (this.httpMode || this.stopped) return;
    this.httpMode = true;
    this.emit("status", { status: "fallback", text: "在线（兼容模式）" });
    this.flushPending();
    this.schedulePoll();
  }

  stopHttpMode() {
    this.httpMode = false;
    clearTimeout(this.pollTimer);
  }

  schedulePoll() {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.poll(), this.pollMs);
  }

  /** Ask for new frames, send again what is still waiting, and come back in a few seconds. */
  async poll() {
    if (!this.httpMode) return;
    try {
      await this.checkOverHttp();
    } catch (error) {
      if (error.status === 401) {
        // a new log-in, then the socket again (HTTP mode resumes if it still fails)
        this.stopHttpMode();
        this.failures = 0;
        this.scheduleReconnect(0);
        return;
      }
    }
    if (!this.httpMode) return;
    this.flushPending();
    this.schedulePoll();
  }

  /** POST one message or hand-off; a network failure leaves it queued for the next poll, same id. */
  async post(frame) {
    if (!this.session || this.posting.has(frame.id)) return;
    this.posting.add(frame.id);
    const body = frame.type === "handoff" ? { id: frame.id, type: "handoff" } : { id: frame.id, text: frame.text };
    try {
      const data = await api.request("POST", api.PATHS.messages, body, this.session.token);
      this.applyHttpAnswer(data);
      if (data && data.ack && typeof data.ack === "object") this.handleFrame({ ...data.ack, type: "ack", id: frame.id });
      const item = this.pending.get(frame.id);
      if (item) {
        // stored by the server even when its echo was not in this answer
        this.pending.delete(frame.id);
        this.savePending();
        this.emit("sent", { id: frame.id, seq: null, type: item.type });
      }
    } catch (error) {
      if (error.status === 401) this.tokenExpired();
      else if (error.status >= 400 && error.status < 500 && this.pending.has(frame.id)) {
        this.pending.delete(frame.id);
        this.savePending();
        this.emit("failed", { id: frame.id, text: error.message });
      }
    } finally {
      this.posting.delete(frame.id);
    }
  }

  // ------------------------------------------------------------ server frames

  handleFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    switch (frame.type) {
      case "message":
        this.showFrame(frame);
        break;
      case "ack":
        this.onAck(frame);
        break;
      case "state":
        if (this.session) wx.setStorageSync(keys.state(this.session.sender), { state: frame.state, butler: frame.butler || null, text: frame.text || "" });
        this.emit("state", frame);
        break;
      case "error":
        if (frame.id && this.pending.has(frame.id)) {
          this.pending.delete(frame.id);
          this.savePending();
          this.emit("failed", { id: frame.id, text: frame.text || "发送失败，请稍后重试。" });
        } else {
          this.emit("notice", { text: frame.text || "出错了，请稍后再试。" });
        }
        break;
      default:
        break; // pong, and frames a newer server may add
    }
  }

  /** A conversation frame, shown once: by seq, and our own echo is matched to its pending message. */
  showFrame(frame) {
    const seq = typeof frame.seq === "number" ? frame.seq : null;
    if (seq !== null) {
      this.setLastSeq(seq);
      if (this.seen.has(seq)) return;
      this.seen.add(seq);
    }
    let shown = frame;
    if (frame.from === "enterprise" && frame.reply_to && this.pending.has(frame.reply_to)) {
      shown = { ...frame, _display: this.pending.get(frame.reply_to).display };
      this.pending.delete(frame.reply_to);
      this.savePending();
    }
    this.remember(shown);
    this.emit("frame", shown);
  }

  onAck(frame) {
    const item = this.pending.get(frame.id);
    if (!item) return; // a duplicate's ack, or the echo came first
    this.pending.delete(frame.id);
    this.savePending();
    const seq = typeof frame.seq === "number" ? frame.seq : null;
    if (item.type === "message" && seq !== null && !this.seen.has(seq)) {
      // the echo of this seq (if it comes) is the same message: remember it now, show it once
      this.seen.add(seq);
      this.remember({ type: "message", seq, from: "enterprise", text: item.text, reply_to: frame.id, at: new Date().toISOString(), _display: item.display });
    }
    this.emit("sent", { id: frame.id, seq, type: item.type });
  }

  emit(type, payload) {
    this.onEvent(type, payload);
  }
}

module.exports = { ChatClient, MAX_TEXT, backoffDelay };
