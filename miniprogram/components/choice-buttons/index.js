// A row of buttons from the assistant (choose a guide, a category, confirm…): a tap sends the payload.
// With `once` (the rating prompt) the first tap wins and the others are greyed out.

Component({
  properties: {
    buttons: { type: Array, value: [] },
    once: { type: Boolean, value: false },
    chosen: { type: String, value: "" },
  },
  data: { picked: "" },
  observers: {
    chosen(value) {
      if (value) this.setData({ picked: value });
    },
  },
  methods: {
    onTap(event) {
      const { payload, title } = event.currentTarget.dataset;
      if (this.data.once && this.data.picked) return;
      this.setData({ picked: payload });
      this.triggerEvent("choose", { payload, title });
    },
  },
});
