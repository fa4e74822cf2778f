// One message of the conversation, drawn from the view model of utils/display.js#messageView:
// a text bubble for the enterprise, the assistant, a butler or the system, with its card (guide,
// ticket), its buttons or rating prompt, and 联系管家 when the assistant could not answer.
// Taps go up to the page as events; the page owns the connection.

Component({
  properties: {
    message: { type: Object, value: null },
    subscribable: { type: Boolean, value: false },
  },
  data: {
    handoffButtons: [{ title: "联系管家", payload: "handoff", kind: "handoff" }],
  },
  methods: {
    onChoose(event) {
      this.triggerEvent("choose", { ...event.detail, key: this.data.message.key });
    },
    onHandoff() {
      this.triggerEvent("handoff", {});
    },
    onRetry() {
      this.triggerEvent("retry", { key: this.data.message.key });
    },
    onLink(event) {
      const { link } = event.currentTarget.dataset;
      if (link) this.triggerEvent("copy", { text: link });
    },
    onCopy(event) {
      this.triggerEvent("copy", event.detail);
    },
    onCall(event) {
      this.triggerEvent("call", event.detail);
    },
    onSubscribe(event) {
      this.triggerEvent("subscribe", event.detail);
    },
  },
});
