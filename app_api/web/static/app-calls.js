/* The drivers' app, per number: quiet hours and the move-car text; call records and blocks.
   The other party is only ever the opaque reference the API gives, never a phone number. */
"use strict";

const calls = { items: [], next: null, blocks: [] };
const CALLS_PAGE = 20;

// --- preferences -------------------------------------------------------------------
const prefsPath = (number) => `/v1/numbers/${encodeURIComponent(number)}/preferences`;

function fillPrefs(form, p) {
  form.quiet_start.value = p.quiet_start || "";
  form.quiet_end.value = p.quiet_end || "";
  form.move_car_text.checked = p.move_car_text;
  $(".quiet-state", form).textContent = p.quiet_start
    ? t("app.quiet.set", { start: p.quiet_start, end: p.quiet_end })
    : t("app.quiet.none");
  $("[data-action=clear-quiet]", form).hidden = !p.quiet_start;
}

function prefsForm(p) {
  const path = prefsPath(p.safe_number);
  const save = el("button", { type: "submit", class: "primary big", "data-action": "save-quiet" }, t("app.quiet.save"));
  const clear = el("button", { type: "button", class: "ghost big", "data-action": "clear-quiet" }, t("app.quiet.clear"));
  const toggle = el("input", { type: "checkbox", name: "move_car_text" });
  const form = el(
    "form",
    { class: "prefs", "data-number": p.safe_number },
    el("div", { class: "prefs-number mono" }, p.safe_number),
    el("p", { class: "note quiet-state" }),
    el(
      "div",
      { class: "pair" },
      el("label", {}, t("app.quiet.from"), el("input", { type: "time", name: "quiet_start", required: true })),
      el("label", {}, t("app.quiet.to"), el("input", { type: "time", name: "quiet_end", required: true })),
    ),
    el("div", { class: "stack" }, save, clear),
    el("label", { class: "switch" }, toggle, el("span", {}, t("app.quiet.move_text"))),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(save, async () => {
      const body = { quiet_start: form.quiet_start.value, quiet_end: form.quiet_end.value };
      fillPrefs(form, await api.call("PUT", path + "/quiet-hours", body));
      flash(t("app.quiet.saved"));
    });
  });
  clear.addEventListener("click", () =>
    guarded(clear, async () => {
      fillPrefs(form, await api.call("DELETE", path + "/quiet-hours"));
      flash(t("app.quiet.cleared"));
    }),
  );
  toggle.addEventListener("change", async () => {
    const wanted = toggle.checked;
    const done = await guarded(toggle, async () => {
      fillPrefs(form, await api.call("PUT", path + "/move-car-text", { enabled: wanted }));
      flash(t(wanted ? "app.quiet.move_on" : "app.quiet.move_off"));
      return true;
    });
    if (!done) toggle.checked = !wanted;
  });
  fillPrefs(form, p);
  return form;
}

/** One preferences form per number that can take calls (active or paused). */
async function loadPrefs(numbers) {
  const live = numbers.filter((n) => n.status === "active" || n.status === "paused");
  const prefs = await Promise.all(live.map((n) => api.get(prefsPath(n.safe_number))));
  $("#prefs").replaceChildren(...prefs.map(prefsForm));
  $("#quiet-panel").hidden = !prefs.length;
}

// --- call records ------------------------------------------------------------------
const callerLabel = (ref) =>
  ref === "anonymous" ? t("app.records.anonymous") : t("app.records.caller", { ref });

function recordItem(r) {
  const what = [t("app.records.outcome." + r.outcome)];
  if (r.answered_at) what.push(t("app.records.seconds", { seconds: fmtInt(r.duration_seconds) }));
  if (r.kind === "callback") what.push(t("app.records.callback"));
  if (r.text_sent) what.push(t("app.records.text_sent"));
  const info = el(
    "div",
    { class: "info" },
    el("div", { class: "note" }, fmtTime(r.started_at), " · ", el("span", { class: "mono" }, r.safe_number)),
    el(
      "div",
      { class: "who" },
      el("span", { class: "ref" }, callerLabel(r.caller_ref)),
      r.caller_blocked ? el("span", { class: "badge s-blocked" }, t("app.records.is_blocked")) : null,
    ),
    el("div", {}, what.join(" · ")),
  );
  const item = el("li", { "data-record": r.id }, info);
  if (r.caller_ref !== "anonymous") {
    const verb = r.caller_blocked ? "unblock" : "block";
    const b = el(
      "button",
      { type: "button", class: r.caller_blocked ? "" : "danger", "data-action": verb },
      t("app.records." + verb),
    );
    b.addEventListener("click", () => blockFromRecord(b, r, !r.caller_blocked));
    item.append(b);
  }
  return item;
}

function renderCalls() {
  const list = $("#records");
  list.replaceChildren(...calls.items.map(recordItem));
  if (!calls.items.length) list.append(el("li", { class: "none" }, t("app.records.empty")));
  $("#records-more").hidden = !calls.next;
}

function blockItem(b) {
  const unblock = el("button", { type: "button", "data-action": "unblock" }, t("app.records.unblock"));
  unblock.addEventListener("click", () =>
    guarded(unblock, async () => {
      await api.call("DELETE", `/v1/blocks/${b.id}`);
      markBlocked(b, false);
      await loadBlocks();
      flash(t("app.records.done.unblock"));
    }),
  );
  return el(
    "li",
    { "data-block": b.id },
    el(
      "div",
      { class: "info" },
      el("div", { class: "ref" }, callerLabel(b.caller_ref)),
      el("div", { class: "note" }, t("app.blocked.since", { date: fmtDate(b.created_at), number: b.safe_number })),
    ),
    unblock,
  );
}

function renderBlocks() {
  const list = $("#blocks");
  list.replaceChildren(...calls.blocks.map(blockItem));
  if (!calls.blocks.length) list.append(el("li", { class: "none" }, t("app.blocked.empty")));
}

/** A block covers one caller on one number: every loaded record (and text) of that pair follows it. */
function markBlocked(which, blocked) {
  calls.items = calls.items.map((r) =>
    r.safe_number === which.safe_number && r.caller_ref === which.caller_ref ? { ...r, caller_blocked: blocked } : r,
  );
  renderCalls();
  markTextSenders(which, blocked); // app-texts.js: the same block covers their texts
}

async function blockFromRecord(button, r, block) {
  await guarded(button, async () => {
    await api.call(block ? "PUT" : "DELETE", `/v1/calls/${r.id}/block`);
    markBlocked(r, block);
    await loadBlocks();
    flash(t(block ? "app.records.done.block" : "app.records.done.unblock", { number: r.safe_number }));
  });
}

async function loadBlocks() {
  calls.blocks = await api.get("/v1/blocks");
  renderBlocks();
}

/** The first page of records (newest first) and the blocks; more=true appends the next page. */
async function loadCalls(more) {
  const query = new URLSearchParams({ limit: String(CALLS_PAGE) });
  if (more && calls.next) query.set("cursor", calls.next);
  const [page] = await Promise.all([api.get("/v1/calls?" + query), more ? null : loadBlocks()]);
  calls.items = more ? calls.items.concat(page.items) : page.items;
  calls.next = page.next_cursor;
  renderCalls();
}
