// HTTP to the gateway over wx.request, and the log-in that turns a wx.login code into the
// gateway's own session token ({token, sender}, the shape of POST /api/chat/session).
// The WeChat session_key never reaches the phone: only the gateway's token is stored.

const config = require("../config");

const SESSION_KEY = "butler.session";
const BINDING_KEY = "butler.binding";

const PATHS = {
  login: "/api/miniprogram/login",
  bind: "/api/miniprogram/bind",
  binding: "/api/miniprogram/binding",
  messages: "/api/chat/messages",
  socket: "/api/chat/ws",
};

class ApiError extends Error {
  /** status 0 means the network failed; message is always Chinese and shown as is. */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function apiBase() {
  return String(config.apiBase || "").replace(/\/+$/, "");
}

/** The WebSocket address for a token: https → wss, http → ws (DevTools without domain checks). */
function socketUrl(token) {
  const base = apiBase().replace(/^https:/, "wss:").replace(/^http:/, "ws:");
  return `${base}${PATHS.socket}?token=${encodeURIComponent(token)}`;
}

/** One JSON request; resolves the body, rejects with ApiError carrying the server's Chinese message. */
function request(method, path, data, token) {
  const header = { "Content-Type": "application/json" };
  if (token) header.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    wx.request({
      url: `${apiBase()}${path}`,
      method,
      data,
      header,
      timeout: 15000,
      success(res) {
        const body = res.data && typeof res.data === "object" ? res.data : null;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          resolve(body);
          return;
        }
        const message = (body && body.message) || `请求失败（${res.statusCode}），请稍后重试。`;
        reject(new ApiError(res.statusCode, (body && body.error) || "http", message));
      },
      fail() {
        reject(new ApiError(0, "network", "网络不可用，请检查网络连接后重试。"));
      },
    });
  });
}

function wxLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success(res) {
        if (res && res.code) resolve(res.code);
        else reject(new ApiError(0, "login", "微信登录失败，请稍后重试。"));
      },
      fail() {
        reject(new ApiError(0, "login", "微信登录失败，请稍后重试。"));
      },
    });
  });
}

function storedSession() {
  const saved = wx.getStorageSync(SESSION_KEY);
  return saved && typeof saved.token === "string" && typeof saved.sender === "string" ? saved : null;
}

let loggingIn = null; // one log-in at a time: the app and the chat page both ask at start-up

/** wx.login → POST /api/miniprogram/login → {token, sender}, kept with wx.setStorageSync. */
function login() {
  if (!loggingIn) {
    loggingIn = freshLogin().finally(() => {
      loggingIn = null;
    });
  }
  return loggingIn;
}

async function freshLogin() {
  const code = await wxLoginCode();
  const data = await request("POST", PATHS.login, { code });
  if (!data || typeof data.token !== "string" || typeof data.sender !== "string") {
    throw new ApiError(0, "login", "无法建立会话，请稍后重试。");
  }
  const session = { token: data.token, sender: data.sender };
  wx.setStorageSync(SESSION_KEY, session);
  return session;
}

/** The stored session, or a fresh log-in when there is none. */
async function ensureSession() {
  return storedSession() || login();
}

/** Forget an expired token (the server answered 401), so the next call logs in again. */
function dropSession() {
  wx.removeStorageSync(SESSION_KEY);
}

/** A request with the session's bearer token; an expired token is renewed once by logging in again. */
async function authorized(method, path, data) {
  const session = await ensureSession();
  try {
    return await request(method, path, data, session.token);
  } catch (error) {
    if (error.status !== 401) throw error;
    dropSession();
    const fresh = await login();
    return request(method, path, data, fresh.token);
  }
}

function storedBinding() {
  const saved = wx.getStorageSync(BINDING_KEY);
  return saved && typeof saved === "object" && saved.name ? saved : null;
}

/**
 * Keep what the gateway says about the binding ({bound, enterprise_name}) and return it, or null
 * when the user is not bound. Only the phone that bound it knows the credit code.
 */
function rememberBinding(data, creditCode) {
  if (!data || !data.bound) {
    wx.removeStorageSync(BINDING_KEY);
    return null;
  }
  const previous = storedBinding();
  const name = String(data.enterprise_name || (previous && previous.name) || creditCode || "");
  const bound = { name, creditCode: creditCode || (previous && previous.creditCode) || "" };
  wx.setStorageSync(BINDING_KEY, bound);
  return bound;
}

/** Ask the gateway which enterprise this user speaks for (a butler may have changed it). */
async function refreshBinding() {
  return rememberBinding(await authorized("GET", PATHS.binding), "");
}

module.exports = {
  ApiError,
  BINDING_KEY,
  PATHS,
  SESSION_KEY,
  authorized,
  dropSession,
  ensureSession,
  login,
  refreshBinding,
  rememberBinding,
  request,
  socketUrl,
  storedBinding,
  storedSession,
};
