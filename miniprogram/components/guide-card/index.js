// A guide answer as a card: the item's name and aspect, the materials (or steps) as a numbered list,
// labelled facts (时限, 收费, 地点…), the source line. A tap on a link asks the page to copy it:
// a mini-program cannot open an outside web page.

Component({
  properties: {
    guide: { type: Object, value: { name: "", aspect: "", sections: [], sources: [] } },
  },
  methods: {
    onLink(event) {
      const { link } = event.currentTarget.dataset;
      if (link) this.triggerEvent("copy", { text: link });
    },
  },
});
