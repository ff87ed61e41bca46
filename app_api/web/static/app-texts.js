/* The drivers' app: texts to my numbers, what the filter kept back, release and blocking.
   A texter is only the opaque reference the API gives (the same as for their calls on
   that number), never a phone number; one block covers both calls and texts. */
"use strict";

const texts = { items: [], next: null };
const TEXTS_PAGE = 20;

const senderLabel = (x) =>
  x.direction === "reply"
    ? t("app.texts.mine")
    : x.sender_ref === "anonymous"
      ? t("app.records.anonymous")
      : t("app.texts.sender", { ref: x.sender_ref });

const textBadge = (status) => el("span", { class: "badge t-" + status }, t("text.status." + status));

function textItem(x) {
  const incoming = x.direction === "in";
  const info = el(
    "div",
    { class: "info" },
    el("div", { class: "note" }, fmtTime(x.received_at), " · ", el("span", { class: "mono" }, x.safe_number)),
    el(
      "div",
      { class: "who" },
      el("span", { class: "ref" }, senderLabel(x)),
      textBadge(x.status),
      x.sender_blocked ? el("span", { class: "badge s-blocked" }, t("app.records.is_blocked")) : null,
    ),
    el("p", { class: "body" }, x.body || t("app.texts.no_body")),
    x.status === "blocked"
      ? el("div", { class: "note why" }, [t("text.category." + x.category), ...x.reasons].join(" · "))
      : null,
  );
  const actions = el("div", { class: "actions" });
  if (incoming && x.status === "blocked") {
    const release = el("button", { type: "button", class: "primary", "data-action": "release" }, t("app.texts.release"));
    release.addEventListener("click", () => releaseText(release, x));
    actions.append(release);
  }
  if (incoming && x.sender_ref !== "anonymous") {
    const verb = x.sender_blocked ? "unblock" : "block";
    const b = el("button", { type: "button", class: x.sender_blocked ? "" : "danger", "data-action": verb }, t("app.records." + verb));
    b.addEventListener("click", () => blockFromText(b, x, !x.sender_blocked));
    actions.append(b);
  }
  return el("li", { "data-text": x.id, "data-status": x.status }, info, actions.children.length ? actions : null);
}

function renderTexts() {
  const list = $("#texts");
  list.replaceChildren(...texts.items.map(textItem));
  if (!texts.items.length) list.append(el("li", { class: "none" }, t("app.texts.empty")));
  $("#texts-more").hidden = !texts.next;
}

/** Called by app-calls.js whenever a block changes: texts of that sender on that number follow. */
function markTextSenders(which, blocked) {
  texts.items = texts.items.map((x) =>
    x.safe_number === which.safe_number && x.sender_ref === which.caller_ref ? { ...x, sender_blocked: blocked } : x,
  );
  renderTexts();
}

async function releaseText(button, x) {
  await guarded(button, async () => {
    await api.post(`/v1/texts/${x.id}/release`);
    texts.items = texts.items.map((y) => (y.id === x.id ? { ...y, status: "pending", released_at: new Date().toISOString() } : y));
    renderTexts();
    flash(t("app.texts.done.release"));
  });
}

async function blockFromText(button, x, block) {
  await guarded(button, async () => {
    await api.call(block ? "PUT" : "DELETE", `/v1/texts/${x.id}/block`);
    markBlocked({ safe_number: x.safe_number, caller_ref: x.sender_ref }, block);
    await loadBlocks();
    flash(t(block ? "app.texts.done.block" : "app.records.done.unblock", { number: x.safe_number }));
  });
}

/** The first page of texts (newest first); more=true appends the next page. */
async function loadTexts(more) {
  const query = new URLSearchParams({ limit: String(TEXTS_PAGE) });
  if (more && texts.next) query.set("cursor", texts.next);
  const page = await api.get("/v1/texts?" + query);
  texts.items = more ? texts.items.concat(page.items) : page.items;
  texts.next = page.next_cursor;
  renderTexts();
}
