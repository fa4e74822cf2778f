// 统一社会信用代码 (GB 32100-2015), checked on the phone before the binding request goes out.
// Same rules and messages as appeals/credit_code.py, so a mistyped code is caught with the same words.

const ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const CODE_LENGTH = 18;

/** Half-width, upper-case, no spaces: codes are typed from licences with Chinese input methods. */
function normalizeCreditCode(text) {
  let out = "";
  for (const ch of String(text == null ? "" : text)) {
    const code = ch.charCodeAt(0);
    if (code === 0x3000) out += " ";
    else if (code >= 0xff01 && code <= 0xff5e) out += String.fromCharCode(code - 0xfee0);
    else out += ch;
  }
  return out.replace(/\s+/g, "").toUpperCase();
}

function checkValue(first17) {
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += ALPHABET.indexOf(first17[i]) * WEIGHTS[i];
  return (31 - (total % 31)) % 31;
}

/** The Chinese reason a code is wrong, or "" when it is valid (checked in the order a user can fix them). */
function creditCodeError(text) {
  const code = normalizeCreditCode(text);
  if (!code) return "请输入统一社会信用代码（18位，见营业执照）";
  if (code.length !== CODE_LENGTH) return `统一社会信用代码应为18位，您输入了${code.length}位`;
  for (const ch of code) {
    if (ALPHABET.indexOf(ch) < 0) return `统一社会信用代码含有不允许的字符「${ch}」`;
  }
  if (!/^\d{6}$/.test(code.slice(2, 8))) return "统一社会信用代码第3至8位应为数字（登记机关行政区划码）";
  if (ALPHABET[checkValue(code.slice(0, 17))] !== code[17]) return "统一社会信用代码校验位不正确，请核对后重新输入";
  return "";
}

/** Complete 17 characters into a valid code (tests and the preview use it for made-up enterprises). */
function makeCreditCode(first17) {
  const body = normalizeCreditCode(first17);
  return body + ALPHABET[checkValue(body)];
}

module.exports = { normalizeCreditCode, creditCodeError, makeCreditCode };
