// A ticket card: number, status, category, the butler (tap the phone to call), and the current
// deadline with its 2110 traffic light (green 正常 / yellow 即将超时 / red 已超时 / done 已完成).
// `subscribable` shows a button that asks for WeChat subscribe-message permission: WeChat only
// allows that request from a tap.

Component({
  properties: {
    ticket: { type: Object, value: null },
    subscribable: { type: Boolean, value: false },
  },
  methods: {
    onCall() {
      const ticket = this.data.ticket || {};
      if (ticket.phoneDialable) this.triggerEvent("call", { phone: ticket.butlerPhone });
    },
    onSubscribe() {
      this.triggerEvent("subscribe", { number: (this.data.ticket || {}).number || "" });
    },
  },
});
