// The binding page: the enterprise's credit code plus the one-time code its butler issued
// → POST /api/miniprogram/bind with the session's bearer token. Mistakes a user can fix are caught
// here with the same words as the assistant; everything else is the server's Chinese reason, as is.

const api = require("../../utils/api");
const { creditCodeError, normalizeCreditCode } = require("../../utils/credit-code");

const BIND_CODE_PATTERN = /^[0-9A-Z]{4,20}$/;

function normalizeBindCode(text) {
  return normalizeCreditCode(text); // same clean-up: half-width, upper-case, no spaces
}

function bindCodeError(text) {
  const code = normalizeBindCode(text);
  if (!code) return "请输入企业管家给您的一次性绑定码";
  if (!BIND_CODE_PATTERN.test(code)) return "绑定码由4至20位字母或数字组成，请核对后重新输入";
  return "";
}

/** The enterprise's name from the answer, whichever way the gateway spells it. */
function enterpriseName(data, fallback) {
  if (!data || typeof data !== "object") return fallback;
  const enterprise = data.enterprise;
  if (enterprise && typeof enterprise === "object" && enterprise.name) return String(enterprise.name);
  if (typeof enterprise === "string" && enterprise) return enterprise;
  return String(data.enterprise_name || data.name || fallback);
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
        const bound = { creditCode, name: enterpriseName(data, creditCode) };
        wx.setStorageSync(api.BINDING_KEY, bound);
        this.setData({
          submitting: false,
          bound,
          bindCode: "",
          success: `绑定成功：${bound.name}。现在可以直接提交诉求、查询工单了。`,
        });
        // back to the chat; opened on its own (no page below), go to the chat page instead
        this.backTimer = setTimeout(() => wx.navigateBack({ fail: () => wx.reLaunch({ url: "/pages/chat/index" }) }), 1500);
      } catch (error) {
        const message = error instanceof api.ApiError ? error.message : "绑定失败，请稍后重试。";
        this.setData({ submitting: false, serverError: message });
      }
    },
  },
});
