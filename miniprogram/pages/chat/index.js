// The chat page: draws the ChatClient's events as bubbles and sends what the user types or taps.
// Built with Component() (which WeChat accepts for pages) so miniprogram-simulate can test it.
// A bubble is keyed by seq once the server has stored it, and by its client id before that, so a
// resumed or echoed frame never adds a second bubble.

const config = require("../../config");
const api = require("../../utils/api");
const { ChatClient, MAX_TEXT } = require("../../utils/chat-client");
const { WELCOME_TEXT, messageView, stateView } = require("../../utils/display");

const APPEAL_SUMMARY_PREFIX = "请核对诉求信息";
const CONFIRM_PAYLOAD = "/affirm";
const MAX_SUBSCRIBE_IDS = 3;

function templateIds() {
  const ids = Object.values(config.subscribeTemplateIds || {}).filter((id) => typeof id === "string" && id);
  return Array.from(new Set(ids)).slice(0, MAX_SUBSCRIBE_IDS);
}

function localNotice(text) {
  return { ...messageView({ from: "system", text }), key: `notice-${Date.now()}-${Math.random().toString(16).slice(2)}` };
}

Component({
  data: {
    messages: [],
    banner: stateView("bot"),
    status: { status: "connecting", text: "连接中…" },
    input: "",
    placeholder: "请输入您的问题，例如：食品经营许可证要什么材料",
    welcome: WELCOME_TEXT,
    binding: null,
    subscribable: templateIds().length > 0,
    scrollInto: "",
  },

  methods: {
    onLoad() {
      this.titles = new Map(); // button payload -> title, to show what the user tapped
      this.client = new ChatClient({ onEvent: (type, payload) => this.onClientEvent(type, payload) });
      this.setData({ binding: api.storedBinding() });
      this.client.start();
    },

    onShow() {
      if (this.client) this.client.wake();
      this.setData({ binding: api.storedBinding() });
      api.refreshBinding().then(
        (binding) => this.setData({ binding }),
        () => {}, // offline: the stored binding stays on screen
      );
    },

    onUnload() {
      clearTimeout(this.handoffTimer);
      if (this.client) this.client.stop();
    },

    /** The state frame normally follows a hand-off's ack; never leave the button dead if it does not. */
    restoreHandoffLater() {
      clearTimeout(this.handoffTimer);
      this.handoffTimer = setTimeout(() => {
        if (this.data.banner.state === "bot") this.setData({ banner: stateView("bot") });
      }, 5000);
    },

    // ---------------------------------------------------------- client events

    onClientEvent(type, payload) {
      switch (type) {
        case "session":
          this.showConversation(payload);
          break;
        case "frame":
          this.putFrame(payload);
          break;
        case "sent":
          this.markSent(payload.id, payload.seq);
          if (payload.type === "handoff") this.restoreHandoffLater();
          break;
        case "failed":
          this.markFailed(payload.id, payload.text);
          break;
        case "state":
          this.setData({ banner: stateView(payload.state, payload.butler, payload.text) });
          break;
        case "status":
          this.setData({ status: payload });
          break;
        case "notice":
          this.appendView(localNotice(payload.text));
          break;
        default:
          break;
      }
    },

    viewOf(frame) {
      for (const button of frame.buttons || []) {
        if (button && typeof button.payload === "string") this.titles.set(button.payload, button.title || button.payload);
      }
      const text = String(frame.text == null ? "" : frame.text);
      const display = frame._display || (text.startsWith("/") && this.titles.get(text)) || "";
      const view = messageView(frame, display);
      view.confirmsAppeal = text.startsWith(APPEAL_SUMMARY_PREFIX) && view.buttons.some((b) => b.payload === CONFIRM_PAYLOAD);
      if (frame._chosen) view.chosen = frame._chosen;
      return view;
    },

    showConversation({ history, pending, state }) {
      this.titles.clear();
      const messages = history.map((frame) => this.viewOf(frame));
      for (const item of pending) {
        if (item.type === "message") messages.push(this.pendingView(item.id, item.text, item.display));
      }
      const banner = state ? stateView(state.state, state.butler, state.text) : stateView("bot");
      this.setData({ messages, banner });
      this.scrollToBottom();
    },

    pendingView(id, text, display) {
      const view = this.viewOf({ from: "enterprise", text, reply_to: id, at: new Date().toISOString() });
      view.text = display || text;
      view.pieces = [{ text: view.text, link: false, key: "k0" }];
      view.pending = true;
      return view;
    },

    indexOf(predicate) {
      return this.data.messages.findIndex(predicate);
    },

    /** A new frame: our own echo updates its pending bubble; anything else goes in seq order. */
    putFrame(frame) {
      const view = this.viewOf(frame);
      if (view.clientId) {
        const index = this.indexOf((m) => m.clientId === view.clientId);
        if (index >= 0) {
          const existing = this.data.messages[index];
          this.replaceAt(index, { ...existing, seq: view.seq, time: view.time || existing.time, pending: false, failed: "" });
          return;
        }
      }
      if (view.seq !== null && this.indexOf((m) => m.seq === view.seq) >= 0) return;
      const messages = this.data.messages;
      const before = view.seq === null ? -1 : messages.findIndex((m) => m.pending || (m.seq !== null && m.seq > view.seq));
      if (before < 0) {
        this.appendView(view);
        return;
      }
      this.setData({ messages: [...messages.slice(0, before), view, ...messages.slice(before)] });
      this.scrollToBottom();
    },

    appendView(view) {
      this.setData({ [`messages[${this.data.messages.length}]`]: view });
      this.scrollToBottom();
    },

    replaceAt(index, view) {
      this.setData({ [`messages[${index}]`]: view });
    },

    markSent(id, seq) {
      const index = this.indexOf((m) => m.clientId === id);
      if (index < 0) return;
      this.replaceAt(index, { ...this.data.messages[index], seq: seq === undefined ? null : seq, pending: false, failed: "" });
    },

    markFailed(id, text) {
      const index = this.indexOf((m) => m.clientId === id);
      if (index < 0) {
        this.appendView(localNotice(text));
        if (this.data.banner.state === "bot") this.setData({ banner: stateView("bot") });
        return;
      }
      this.replaceAt(index, { ...this.data.messages[index], pending: false, failed: text });
    },

    scrollToBottom() {
      this.setData({ scrollInto: "" });
      this.setData({ scrollInto: "bottom" });
    },

    // ---------------------------------------------------------- user actions

    sendText(text, display) {
      const id = this.client.send(text, display);
      if (id) this.appendView(this.pendingView(id, text, display));
      return id;
    },

    onInput(event) {
      this.setData({ input: event.detail.value });
    },

    onSend() {
      const text = String(this.data.input || "").trim();
      if (!text) return;
      if (text.length > MAX_TEXT) {
        this.appendView(localNotice(`消息太长了，请控制在${MAX_TEXT}字以内。`));
        return;
      }
      this.setData({ input: "" });
      this.sendText(text);
    },

    /** A choice or rating button: send its payload, show its title. Confirming an appeal asks for notifications. */
    onChoose(event) {
      const { payload, title, key } = event.detail;
      const index = this.indexOf((m) => m.key === key);
      const message = index >= 0 ? this.data.messages[index] : null;
      if (message && message.confirmsAppeal && payload === CONFIRM_PAYLOAD) this.requestSubscribe();
      if (message && message.rating) this.setData({ [`messages[${index}].chosen`]: payload });
      this.sendText(payload, title);
    },

    onHandoff() {
      if (this.data.banner.handoffDisabled) return;
      this.client.handoff();
      this.setData({ banner: { ...this.data.banner, handoffLabel: "转接中…", handoffDisabled: true } });
    },

    onRetry(event) {
      const index = this.indexOf((m) => m.key === event.detail.key);
      if (index < 0) return;
      const message = this.data.messages[index];
      this.setData({ messages: this.data.messages.filter((_, i) => i !== index) });
      this.sendText(message.text);
    },

    onCopy(event) {
      wx.setClipboardData({
        data: event.detail.text,
        success: () => wx.showToast({ title: "链接已复制，请在浏览器中打开", icon: "none" }),
      });
    },

    onCall(event) {
      wx.makePhoneCall({ phoneNumber: String(event.detail.phone).replace(/[^0-9+]/g, ""), fail() {} });
    },

    onSubscribe() {
      this.requestSubscribe();
    },

    /** wx.requestSubscribeMessage must run inside a tap: called from the tap handlers above. */
    requestSubscribe() {
      const tmplIds = templateIds();
      if (!tmplIds.length || typeof wx.requestSubscribeMessage !== "function") return;
      wx.requestSubscribeMessage({
        tmplIds,
        success: (res) => {
          const accepted = tmplIds.filter((id) => res && res[id] === "accept");
          wx.showToast({ title: accepted.length ? "已开启工单进度通知" : "未开启通知，可在工单卡片上重新订阅", icon: "none" });
        },
        fail: (err) => {
          if (err && err.errCode === 20004) wx.showToast({ title: "您已关闭订阅消息，可在设置中开启", icon: "none" });
        },
      });
    },
  },
});
