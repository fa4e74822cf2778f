// The rating prompt: the buttons the bot sent (满意 / 基本满意 / 不满意, or a score scale), one tap only.

Component({
  properties: {
    rating: { type: Object, value: { ticketNumber: "", buttons: [] } },
    chosen: { type: String, value: "" },
  },
  methods: {
    onChoose(event) {
      this.triggerEvent("choose", event.detail);
    },
  },
});
