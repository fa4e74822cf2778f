// The binding page: the enterprise's credit code plus the one-time code its butler issued
// → POST /api/miniprogram/bind with the session's bearer token. Mistakes a user can fix are caught
// here with the same words as the assistant; everything else is the server's Chinese reason, as is.

const api = require("../../utils/api");
const { creditCodeError, normalizeCreditCode } = require("../../utils/credit-code");

const BIND_CODE_DIGITS = 6; // appeals/bindings.py issues 6-digit codes
const BIND_CODE_PATTERN = new RegExp(`^[0-9]{${BIND_CODE_DIGITS}}$`);

function normalizeBindCode(text) {
  return normalizeCreditCode(text); // same clean-up: half-width, no spaces
}

/** The gateway's own words (appeals/bindings.py BAD_CODE_FORMAT), said before any request. */
function bindCodeError(text) {
  const code = normalizeBindCode(text);
  if (!code) return `请输入企业管家提供的${BIND_CODE_DIGITS}位绑定码`;
  if (!BIND_CODE_PATTERN.test(code)) return `绑定码应为${BIND_CODE_DIGITS}位数字`;
  return "";
}

Component({
  data: {
    creditCode: "",
    bindCode: "",
    errors: { creditCode: "", bindCode: "" },
    serverError: "",
    success: "",
    submitting: false,
    bound: null,
  },

  methods: {
    onLoad() {
      this.setData({ bound: api.storedBinding() });
      api.refreshBinding().then(
        (bound) => this.setData({ bound }),
        () => {}, // offline or not configured: the stored binding stays on screen
      );
    },

    onUnload() {
      clearTimeout(this.backTimer);
    },

    onInput(event) {
      const { field } = event.currentTarget.dataset;
      this.setData({ [field]: event.detail.value, [`errors.${field}`]: "", serverError: "" });
    },

    async onSubmit() {
      if (this.data.submitting) return;
      const errors = { creditCode: creditCodeError(this.data.creditCode), bindCode: bindCodeError(this.data.bindCode) };
      this.setData({ errors, serverError: "", success: "" });
      if (errors.creditCode || errors.bindCode) return;
      const creditCode = normalizeCreditCode(this.data.creditCode);
      const code = normalizeBindCode(this.data.bindCode);
      this.setData({ submitting: true, creditCode, bindCode: code });
      try {
        const data = await api.authorized("POST", api.PATHS.bind, { credit_code: creditCode, code });
        const bound = api.rememberBinding({ bound: true, ...data }, creditCode);
        const said = (data && data.message) || `已绑定企业：${bound.name}`;
        this.setData({ submitting: false, bound, bindCode: "", success: `${said}。现在可以直接提交诉求、查询工单了。` });
        // back to the chat; opened on its own (no page below), go to the chat page instead
        this.backTimer = setTimeout(() => wx.navigateBack({ fail: () => wx.reLaunch({ url: "/pages/chat/index" }) }), 1500);
      } catch (error) {
        const message = error instanceof api.ApiError ? error.message : "绑定失败，请稍后重试。";
        this.setData({ submitting: false, serverError: message });
      }
    },
  },
});
