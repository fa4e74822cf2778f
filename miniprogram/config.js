// Where the gateway lives and which subscribe-message templates the mini-program asks for.
// Edit per deployment: the domain must be listed under 开发管理 → 服务器域名 (request 与 socket 合法域名),
// https/wss only, ICP 备案, no port unless one is configured (see docs/miniprogram.md).

module.exports = {
  // The gateway's public address; the WebSocket address is derived from it (https → wss).
  apiBase: "https://butler.example.gov.cn",

  // Subscribe-message (订阅消息) template ids, from 小程序管理后台 → 订阅消息. Asked for when an appeal is
  // filed (at most 3 ids per request); empty ids are skipped, so an empty list asks for nothing.
  subscribeTemplateIds: {
    ticketRouted: "",
    ticketAnswered: "",
    ratingRequested: "",
  },
};
