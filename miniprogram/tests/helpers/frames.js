// Conversation frames as the gateway sends them (docs/chat-protocol.md), with the texts and
// `custom` payloads the server code builds: knowledge/answers.py#compose_answer for guides,
// knowledge/answering.py for choices and no_answer, appeals/views.py#ticket_card and
// bot/actions/replies.py for the ticket receipt and the rating prompt.

const GUIDE_NAME = "食品经营许可证核发";
const TICKET = "GD202611300007";

function at(minute) {
  return `2026-11-30T10:${String(minute).padStart(2, "0")}:03+08:00`;
}

function enterprise(seq, text, replyTo) {
  return { type: "message", seq, from: "enterprise", text, reply_to: replyTo, at: at(seq) };
}

/** A guide answer: compose_answer's text (title line, body, source line) with its guide card. */
function guide(seq, aspect, title, body) {
  return {
    type: "message",
    seq,
    from: "bot",
    text: [`【${GUIDE_NAME}】${title}`, ...body, `来源：《${GUIDE_NAME}》办事指南，更新于2026-10-12`].join("\n"),
    custom: { kind: "guide", guide_id: "510100-SPJY-001", guide_name: GUIDE_NAME, aspect, version: "3", has_guide: true },
    at: at(seq),
  };
}

function guideMaterials(seq) {
  return guide(seq, "materials", "申请材料", [
    "1. 食品经营许可申请书（原件1份）",
    "2. 营业执照（复印件1份）：加盖企业公章",
    "3. 法定代表人身份证明（原件1份，可容缺后补）",
    "4. 食品安全管理制度文本（原件1份）",
  ]);
}

function guideOverview(seq) {
  return guide(seq, "overview", "办事指南", [
    "实施机关：广安市市场监督管理局（行政许可）",
    "申请材料：",
    "1. 食品经营许可申请书（原件1份）",
    "2. 营业执照（复印件1份）：加盖企业公章",
    "法定办结时限：20个工作日；承诺办结时限：5个工作日",
    "收费标准：不收费",
    "办理地点：广安市政务服务中心二楼市场监管窗口",
    "咨询电话：0826-2345678",
    "网上办理：可在网上申请，部分环节需到窗口办理（跑动次数：1次）",
  ]);
}

function chooseGuide(seq) {
  const candidates = [
    { guide_id: "510100-SPJY-001", guide_name: "食品经营许可证核发" },
    { guide_id: "510100-SPJY-002", guide_name: "食品经营许可证变更" },
    { guide_id: "510100-SPJY-003", guide_name: "食品经营许可证延续" },
  ];
  return {
    type: "message",
    seq,
    from: "bot",
    text: "您问的可能是以下事项，请点选一项：",
    custom: { kind: "choose_guide", aspect: "materials", candidates },
    buttons: candidates.map((c) => ({
      title: c.guide_name,
      payload: `/choose_guide{"guide_id":"${c.guide_id}","aspect":"materials"}`,
    })),
    at: at(seq),
  };
}

function appealSummary(seq) {
  return {
    type: "message",
    seq,
    from: "bot",
    text:
      "请核对诉求信息：\n企业：广安市恒远食品有限公司\n类别：审批服务\n问题描述：食品经营许可证变更申请提交两周没有进展\n联系人：张伟，138****5678\n紧急程度：一般\n确认无误请回复“确认”；需要修改请告诉我改哪一项（如“改电话”）；回复“取消”放弃提交。",
    buttons: [
      { title: "确认提交", payload: "/affirm" },
      { title: "修改", payload: "/correct_field" },
      { title: "取消", payload: "/cancel" },
    ],
    at: at(seq),
  };
}

function ticket(seq, light = "green", extra = {}) {
  return {
    type: "message",
    seq,
    from: "bot",
    text: `您的诉求已受理，工单号 ${TICKET}。您的企业管家何杰（电话 0826-2345601）将在11月30日 14:00前与您联系。`,
    custom: {
      kind: "ticket",
      number: TICKET,
      status: "submitted",
      status_label: "已受理",
      category: "审批服务",
      urgency: "一般",
      butler_name: "何杰",
      butler_phone: "0826-2345601",
      current_deadline: { label: "联系企业", due: "2026-11-30T06:00:00+00:00", light },
      awaiting_rating: false,
      ...extra,
    },
    at: at(seq),
  };
}

function rating(seq) {
  const scores = ["满意", "基本满意", "不满意"];
  return {
    type: "message",
    seq,
    from: "bot",
    text: `您的诉求工单 ${TICKET}（审批服务）已由管家反馈办理结果。\n办理结果：已协调市场监管局加急审核，变更已于今日办结。\n请问您对处理结果是否满意？不满意可以直接说明原因，例如“不满意，问题没解决”。`,
    buttons: scores.map((score) => ({
      title: score,
      payload: `/rate_ticket${JSON.stringify({ ticket_number: TICKET, rating_score: score })}`,
    })),
    custom: { kind: "rating", ticket_number: TICKET },
    at: at(seq),
  };
}

function noAnswer(seq) {
  return {
    type: "message",
    seq,
    from: "bot",
    text: "抱歉，知识库里暂时没有能回答这个问题的办事指南，我不想给您不准确的信息。您的问题已记录，工作人员会补充完善。如需帮助，可以回复“转人工”联系您的企业管家。",
    custom: { kind: "no_answer" },
    at: at(seq),
  };
}

function butler(seq, text) {
  return { type: "message", seq, from: "butler", author: "何杰", text, at: at(seq) };
}

function system(seq, text) {
  return { type: "message", seq, from: "system", text, at: at(seq) };
}

module.exports = {
  GUIDE_NAME,
  TICKET,
  appealSummary,
  butler,
  chooseGuide,
  enterprise,
  guideMaterials,
  guideOverview,
  noAnswer,
  rating,
  system,
  ticket,
};
