// The binding page: what the user typed is checked on the phone first (same words as the
// assistant), then POST /api/miniprogram/bind with the bearer token; the server's Chinese reason is shown.

const { installFakeWx, settle } = require("./helpers/fake-wx");
const { mount } = require("./helpers/mount");
const { makeCreditCode } = require("../utils/credit-code");

const CREDIT_CODE = makeCreditCode("91511600MA62XK4P1"); // 91511600MA62XK4P1D

let fake;
let page;
let binds;

function gateway(answer) {
  return (method, path, data, header) => {
    if (path === "/api/miniprogram/login") return { statusCode: 200, data: { token: `token-${fake.loginCount}`, sender: "mp-1" } };
    if (path === "/api/miniprogram/bind") {
      binds.push({ data, authorization: header.Authorization });
      return answer(header);
    }
    return null;
  };
}

beforeEach(() => {
  fake = installFakeWx();
  binds = [];
  page = mount("pages/bind/index", {}, "bind-page");
  page.instance.onLoad();
});

afterEach(() => page.instance.onUnload());

async function submit(creditCode, bindCode) {
  page.querySelector(".credit-code").dispatchEvent("input", { detail: { value: creditCode } });
  page.querySelector(".bind-code").dispatchEvent("input", { detail: { value: bindCode } });
  await settle();
  page.querySelector(".submit").dispatchEvent("tap");
  await settle(12);
}

const text = (selector) => {
  const node = page.querySelector(selector);
  return node ? node.dom.textContent.trim() : "";
};

test.each([
  ["", "483920", "请输入统一社会信用代码（18位，见营业执照）"],
  ["91511600MA62XK4P1", "483920", "统一社会信用代码应为18位，您输入了17位"],
  ["91511600MA62XK4P1I", "483920", "统一社会信用代码含有不允许的字符「I」"],
  ["9151160AMA62XK4P1D", "483920", "统一社会信用代码第3至8位应为数字（登记机关行政区划码）"],
  ["91511600MA62XK4P1E", "483920", "统一社会信用代码校验位不正确，请核对后重新输入"],
])("a wrong credit code %p is explained and nothing is sent", async (creditCode, bindCode, message) => {
  fake.gateway = gateway(() => ({ statusCode: 200, data: {} }));
  await submit(creditCode, bindCode);
  expect(text(".credit-code-error")).toBe(message);
  expect(binds).toEqual([]);
});

test.each([
  ["", "请输入企业管家提供的6位绑定码"],
  ["48-39", "绑定码应为6位数字"],
  ["4839201", "绑定码应为6位数字"],
])("a missing or malformed one-time code %p is explained", async (bindCode, message) => {
  await submit(CREDIT_CODE, bindCode);
  expect(text(".bind-code-error")).toBe(message);
  expect(text(".credit-code-error")).toBe("");
  expect(binds).toEqual([]);
});

test("a code typed with spaces, full-width or in lower case is cleaned up, bound, and remembered", async () => {
  fake.gateway = gateway(() => ({ statusCode: 200, data: { bound: true, enterprise_name: "广安市恒远食品有限公司", message: "已绑定企业：广安市恒远食品有限公司" } }));
  await submit(" ９１５１１６００ma62xk4p1d ", "4839 20");
  expect(binds).toEqual([{ data: { credit_code: CREDIT_CODE, code: "483920" }, authorization: "Bearer token-1" }]);
  expect(text(".success")).toBe("已绑定企业：广安市恒远食品有限公司。现在可以直接提交诉求、查询工单了。");
  expect(text(".bound-name")).toBe("广安市恒远食品有限公司");
  expect(fake.getStorageSync("butler.binding")).toEqual({ creditCode: CREDIT_CODE, name: "广安市恒远食品有限公司" });
});

test.each([
  [400, { error: "bind_refused", message: "绑定码已过期，请联系您的企业管家重新获取" }],
  [429, { error: "rate_limited", message: "尝试次数过多，请15分钟后再试" }],
  [422, { error: "invalid", message: "统一社会信用代码校验位不正确，请核对后重新输入" }],
])("the server's refusal (%i) is shown in its own words", async (status, body) => {
  fake.gateway = gateway(() => ({ statusCode: status, data: body }));
  await submit(CREDIT_CODE, "483920");
  expect(text(".server-error")).toBe(body.message);
  expect(text(".success")).toBe("");
  expect(fake.getStorageSync("butler.binding")).toBe("");
  expect(text(".submit")).toBe("绑定");
});

test("no network: a Chinese message, and the form can be sent again", async () => {
  fake.gateway = (method, path) => (path === "/api/miniprogram/login" ? { statusCode: 200, data: { token: "t", sender: "mp-1" } } : null);
  await submit(CREDIT_CODE, "483920");
  expect(text(".server-error")).toBe("网络不可用，请检查网络连接后重试。");
  expect(page.instance.data.submitting).toBe(false);
});

/** Open the page again on a fresh phone, after `prepare` has set up its storage and gateway. */
async function reopen(prepare) {
  page.instance.onUnload();
  await settle();
  fake = installFakeWx();
  prepare();
  page = mount("pages/bind/index", {}, "bind-page");
  page.instance.onLoad();
}

test("an expired token is renewed by logging in again, and the binding goes through once", async () => {
  await reopen(() => fake.setStorageSync("butler.session", { token: "expired", sender: "mp-1" }));
  fake.gateway = gateway((header) =>
    header.Authorization === "Bearer expired"
      ? { statusCode: 401, data: { error: "unauthorized", message: "登录已失效，请重新打开小程序" } }
      : { statusCode: 200, data: { bound: true, enterprise_name: "广安市恒远食品有限公司", message: "已绑定企业：广安市恒远食品有限公司" } },
  );
  await submit(CREDIT_CODE, "483920");
  expect(binds.map((b) => b.authorization)).toEqual(["Bearer expired", "Bearer token-1"]);
  expect(text(".success")).toContain("广安市恒远食品有限公司");
});

test("editing a field clears its error", async () => {
  await submit("123", "");
  expect(text(".credit-code-error")).not.toBe("");
  page.querySelector(".credit-code").dispatchEvent("input", { detail: { value: CREDIT_CODE } });
  await settle();
  expect(text(".credit-code-error")).toBe("");
  expect(text(".bind-code-error")).toBe("请输入企业管家提供的6位绑定码");
});

describe("the binding the gateway knows", () => {
  function binding(answer) {
    return (method, path) => {
      if (path === "/api/miniprogram/login") return { statusCode: 200, data: { token: "t", sender: "mp-1" } };
      if (method === "GET" && path === "/api/miniprogram/binding") return { statusCode: 200, data: answer };
      return null;
    };
  }

  test("is shown when the page opens", async () => {
    await reopen(() => {
      fake.gateway = binding({ bound: true, enterprise_name: "广安市恒远食品有限公司" });
    });
    await settle(12);
    expect(text(".bound-name")).toBe("广安市恒远食品有限公司");
    expect(fake.getStorageSync("butler.binding")).toEqual({ name: "广安市恒远食品有限公司", creditCode: "" });
  });

  test("replaces a binding stored on the phone that the gateway no longer has", async () => {
    await reopen(() => {
      fake.setStorageSync("butler.binding", { name: "旧企业", creditCode: CREDIT_CODE });
      fake.gateway = binding({ bound: false, enterprise_name: null });
    });
    expect(text(".bound-name")).toBe("旧企业");
    await settle(12);
    expect(page.querySelector(".bound")).toBeUndefined();
    expect(fake.getStorageSync("butler.binding")).toBe("");
  });
});
