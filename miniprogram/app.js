// 企业管家助手 mini-program. The pages hold their own connection (utils/chat-client.js); the app
// only logs in early so the chat page opens on a ready session.

const api = require("./utils/api");

App({
  onLaunch() {
    api.ensureSession().catch(() => {
      // the chat page retries with backoff and says so; nothing to show here
    });
  },
});
