/* The operators' console: one page, a view per hash (#dashboard, #agreements, ...). */
"use strict";

const api = new Api(sessionStorage, "safenum.console");
const state = { agreements: [], pools: [], numbersCursor: null, auditCursor: null, reviewCursor: null };

const role = () => {
  const c = api.claims;
  return c && c.knd === "operator" ? c.role : null;
};
const canAgreements = () => role() === "district_admin";
const canManage = () => role() === "district_admin" || role() === "partner_admin";

// --- shell -------------------------------------------------------------------
function showSignedIn(on) {
  $("#signin").hidden = on;
  $("#nav").hidden = !on;
  $("#sign-out").hidden = !on;
  $("#whoami").hidden = !on;
  if (!on) $$(".view").forEach((v) => (v.hidden = true));
  if (on) {
    const c = api.claims;
    $("#whoami").textContent = t("role." + c.role);
    $$(".admin-district").forEach((n) => (n.hidden = !canAgreements()));
    $$(".admin-any").forEach((n) => (n.hidden = !canManage()));
    $$(".readonly-note").forEach((n) => (n.hidden = canAgreements()));
    $$(".review-readonly").forEach((n) => (n.hidden = canManage()));
  }
}

const VIEWS = {
  dashboard: loadDashboard,
  agreements: loadAgreementsView,
  pools: loadPoolsView,
  numbers: loadNumbersView,
  review: loadReviewView,
  audit: loadAuditView,
};

async function route() {
  if (!api.tokens || role() === null) {
    api.tokens = null;
    showSignedIn(false);
    return;
  }
  showSignedIn(true);
  let view = location.hash.slice(1);
  if (!VIEWS[view]) view = "dashboard";
  $$(".view").forEach((v) => (v.hidden = v.id !== "view-" + view));
  $$("#nav a").forEach((a) => a.toggleAttribute("aria-current", a.dataset.view === view));
  await guarded(null, VIEWS[view]);
}

api.onSignedOut = () => {
  flash(t("err.unauthenticated"), "error");
  showSignedIn(false);
};

async function signIn(ev) {
  ev.preventDefault();
  const form = ev.target;
  await guarded(form.querySelector("button"), async () => {
    api.tokens = await api.post(
      "/v1/auth/operator",
      { username: form.username.value.trim(), password: form.password.value },
      { anonymous: true },
    );
    form.reset();
    await route();
  });
}

// --- shared data ---------------------------------------------------------------
async function loadAgreements() {
  state.agreements = await api.get("/v1/ops/agreements");
  return state.agreements;
}
async function loadPools() {
  state.pools = await api.get("/v1/ops/pools");
  return state.pools;
}
const agreementName = (id) => {
  const a = state.agreements.find((x) => x.id === id);
  return a ? a.name : id === null ? t("console.pool.no_agreement") : "#" + id;
};
const pct = (x) => (x * 100).toLocaleString(LANG, { maximumFractionDigits: x < 0.01 ? 3 : 1 }) + "%";

function meter(fraction, label) {
  const bar = el("span", { class: "meter-fill" + (fraction >= 0.9 ? " warn" : "") });
  bar.style.width = Math.min(100, fraction * 100).toFixed(2) + "%";
  return el("span", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 1, "aria-valuenow": fraction, "aria-label": label }, bar);
}

// --- dashboard -------------------------------------------------------------------
async function loadReadiness() {
  const box = $("#readiness");
  let body;
  try {
    body = await (await fetch("/readyz", { cache: "no-store" })).json();
  } catch (e) {
    body = { ready: false };
  }
  box.replaceChildren(
    el("span", { class: "ready-all " + (body.ready ? "up" : "down") }, body.ready ? t("console.dash.ready") : t("console.dash.not_ready")),
    ...Object.entries(body)
      .filter(([k]) => k !== "ready")
      .map(([k, v]) => el("span", { class: "pill " + v, "data-check": k }, t("check." + k) + ": " + t("check." + v))),
  );
}

function sumOrNull(values) {
  const present = values.filter((v) => v !== null && v !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : null;
}

function kpi(label, value, extra) {
  return el("div", { class: "kpi card" }, el("div", { class: "kpi-label" }, label), el("div", { class: "kpi-value" }, value), extra || null);
}

async function loadDashboard() {
  await Promise.all([loadAgreements(), loadPools(), loadReadiness()]);
  const select = $("#dash-agreement");
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "" }, t("console.dash.all")),
    ...state.agreements.map((a) => el("option", { value: a.id }, a.name)),
  );
  select.value = state.agreements.some((a) => String(a.id) === chosen) ? chosen : "";
  const id = select.value ? Number(select.value) : null;

  const until = seoulToday();
  const since = addDays(until, -29);
  const days = Array.from({ length: 30 }, (_, i) => addDays(since, i));
  const q = new URLSearchParams({ since, until });
  if (id !== null) q.set("agreement_id", id);
  const rows = await api.get("/v1/ops/stats?" + q);
  const per = days.map((d) => rows.filter((r) => r.day === d));
  const series = (f) => per.map((rs) => sumOrNull(rs.map(f)));
  const issued = series((r) => r.numbers_issued);
  const active = series((r) => r.numbers_active);
  const moveCar = series((r) => r.move_car_texts);
  const bridged = series((r) => r.calls_bridged);
  const callsBlocked = series((r) => r.calls_blocked);
  const delivered = series((r) => r.texts_delivered);
  const textsBlocked = series((r) => (r.texts_blocked ? Object.values(r.texts_blocked).reduce((a, b) => a + b, 0) : null));
  const byCategory = {}; // blocked texts over the 30 days, by filter category
  for (const r of rows) {
    for (const [category, n] of Object.entries(r.texts_blocked || {})) byCategory[category] = (byCategory[category] || 0) + n;
  }
  const categories = Object.entries(byCategory)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([category, n]) => `${t("text.category." + category)} ${fmtInt(n)}`);

  const agreements = id === null ? state.agreements : state.agreements.filter((a) => a.id === id);
  const quota = agreements.reduce((a, b) => a + b.quota, 0);
  const live = agreements.reduce((a, b) => a + b.live_numbers, 0);
  const pools = id === null ? state.pools : state.pools.filter((p) => p.agreement_id === id);
  const size = pools.reduce((a, p) => a + p.size, 0);
  const used = pools.reduce((a, p) => a + p.used, 0);
  const total = (xs) => sumOrNull(xs);
  const pair = (a, b) => (a === null && b === null ? "—" : `${fmtInt(a)} / ${fmtInt(b)}`);

  $("#kpis").replaceChildren(
    kpi(t("console.dash.active_quota"), `${fmtInt(live)} / ${fmtInt(quota)}`, meter(quota ? live / quota : 0, t("console.dash.active_quota"))),
    kpi(t("console.dash.issued30"), fmtInt(total(issued) || 0)),
    kpi(t("console.dash.pool_fill"), size ? pct(used / size) : "—", el("div", { class: "kpi-sub" }, `${fmtInt(used)} / ${fmtInt(size)}`)),
    kpi(t("console.dash.calls"), pair(total(bridged), total(callsBlocked))),
    kpi(t("console.dash.movecar"), fmtInt(total(moveCar) || 0)),
    kpi(
      t("console.dash.texts"),
      pair(total(delivered), total(textsBlocked)),
      categories.length ? el("div", { class: "kpi-sub", id: "kpi-blocked-categories" }, t("console.dash.blocked_by", { list: categories.join(" · ") })) : null,
    ),
  );
  const pending = t("console.dash.pending");
  dayChart($("#chart-numbers"), days, [{ label: t("console.dash.s.active"), values: active, kind: "line", cls: "c1" }], pending);
  dayChart($("#chart-movecar"), days, [
    { label: t("console.dash.s.issued"), values: issued, kind: "bar", cls: "c2" },
    { label: t("console.dash.s.movecar"), values: moveCar, kind: "bar", cls: "c3" },
  ], pending);
  dayChart($("#chart-calls"), days, [
    { label: t("console.dash.s.bridged"), values: bridged, kind: "bar", cls: "c1" },
    { label: t("console.dash.s.blocked"), values: callsBlocked, kind: "bar", cls: "c4" },
  ], pending);
  dayChart($("#chart-texts"), days, [
    { label: t("console.dash.s.delivered"), values: delivered, kind: "bar", cls: "c1" },
    { label: t("console.dash.s.blocked"), values: textsBlocked, kind: "bar", cls: "c4" },
  ], pending);
}

// --- agreements ------------------------------------------------------------------
const NEXT = { draft: ["active", "ended"], active: ["suspended", "ended"], suspended: ["active", "ended"], ended: [] };

async function patchAgreement(button, id, body, done) {
  await guarded(button, async () => {
    await api.call("PATCH", `/v1/ops/agreements/${id}`, body);
    flash(done || t("common.saved"));
    await loadAgreementsView();
  });
}

function agreementRow(a) {
  const actions = el("div", { class: "actions" });
  if (canAgreements()) {
    for (const next of NEXT[a.status]) {
      const b = el("button", { type: "button", class: next === "ended" ? "danger small" : "small", "data-action": next }, t("console.agr.to." + next));
      b.addEventListener("click", async () => {
        if (next === "ended" && !(await askConfirm(t("console.agr.confirm_end", { name: a.name }), t("console.agr.to.ended")))) return;
        await patchAgreement(b, a.id, { status: next }, t("console.agr.done." + next));
      });
      actions.append(b);
    }
    if (a.status !== "ended") {
      const edit = el("button", { type: "button", class: "ghost small", "data-action": "edit" }, t("common.edit"));
      edit.addEventListener("click", () => toggleEditRow(edit.closest("tr"), a));
      actions.append(edit);
    }
  }
  return el(
    "tr",
    { "data-id": a.id },
    el("td", {}, a.name, a.eligibility ? el("div", { class: "sub" }, a.eligibility) : null),
    el("td", {}, a.district),
    el("td", {}, a.partner),
    el("td", {}, `${a.term_start} ~ ${a.term_end}`),
    el("td", { class: "num" }, `${fmtInt(a.live_numbers)} / ${fmtInt(a.quota)}`),
    el("td", {}, statusBadge(a.status)),
    el("td", {}, actions),
  );
}

function toggleEditRow(tr, a) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("editrow")) {
    next.remove();
    return;
  }
  const form = el(
    "form",
    { class: "inline-form" },
    el("label", {}, t("console.agr.quota"), el("input", { name: "quota", type: "number", min: 0, max: 10000000, value: a.quota, required: true })),
    el("label", {}, t("console.agr.term_end"), el("input", { name: "term_end", type: "date", value: a.term_end, required: true })),
    el("button", { type: "submit", class: "primary small" }, t("common.save")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    patchAgreement(form.querySelector("button"), a.id, { quota: Number(form.quota.value), term_end: form.term_end.value });
  });
  tr.after(el("tr", { class: "editrow" }, el("td", { colspan: 7 }, form)));
}

async function loadAgreementsView() {
  await loadAgreements();
  const body = $("#agreements-table tbody");
  body.replaceChildren(...state.agreements.map(agreementRow));
  if (!state.agreements.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "empty-row" }, t("console.agr.none"))));
}

async function createAgreement(ev) {
  ev.preventDefault();
  const f = ev.target;
  await guarded(f.querySelector("button"), async () => {
    const a = await api.post("/v1/ops/agreements", {
      name: f.name.value.trim(),
      district: f.district.value.trim(),
      partner: f.partner.value.trim(),
      term_start: f.term_start.value,
      term_end: f.term_end.value,
      quota: Number(f.quota.value),
      eligibility: f.eligibility.value.trim(),
    });
    f.reset();
    $("#agreement-create").open = false;
    flash(t("console.agr.created", { name: a.name }));
    await loadAgreementsView();
  });
}

// --- pools -----------------------------------------------------------------------
async function loadPoolsView() {
  await Promise.all([loadAgreements(), loadPools()]);
  const select = $("#pool-form select[name=agreement_id]");
  select.replaceChildren(
    el("option", { value: "" }, t("console.pool.no_agreement")),
    ...state.agreements.filter((a) => a.status !== "ended").map((a) => el("option", { value: a.id }, a.name)),
  );
  const body = $("#pools-table tbody");
  body.replaceChildren(
    ...state.pools.map((p) =>
      el(
        "tr",
        { "data-id": p.id },
        el("td", { class: "mono" }, `${p.prefix} ${p.range_from} – ${p.range_to}`),
        el("td", { class: "num" }, fmtInt(p.size)),
        el("td", { class: "num" }, fmtInt(p.used)),
        el("td", {}, meter(p.fill, t("console.pool.fill")), " ", pct(p.fill)),
        el("td", {}, agreementName(p.agreement_id)),
      ),
    ),
  );
  if (!state.pools.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "empty-row" }, t("console.pool.none"))));
}

async function addPool(ev) {
  ev.preventDefault();
  const f = ev.target;
  await guarded(f.querySelector("button"), async () => {
    await api.post("/v1/ops/pools", {
      prefix: f.prefix.value.trim(),
      range_from: f.range_from.value.trim(),
      range_to: f.range_to.value.trim(),
      agreement_id: f.agreement_id.value ? Number(f.agreement_id.value) : null,
    });
    f.range_from.value = "";
    f.range_to.value = "";
    $("#pool-create").open = false;
    flash(t("console.pool.added"));
    await loadPoolsView();
  });
}

// --- numbers ---------------------------------------------------------------------
function numberDetail(n) {
  const box = $("#number-detail");
  const actions = el("div", { class: "row" });
  if (canManage()) {
    if (n.status === "active") {
      const pause = el("button", { type: "button", "data-action": "pause" }, t("console.num.pause"));
      pause.addEventListener("click", () => numberAction(pause, n, "pause"));
      actions.append(pause);
    }
    if (n.status === "active" || n.status === "paused") {
      const release = el("button", { type: "button", class: "danger", "data-action": "release" }, t("console.num.release"));
      release.addEventListener("click", async () => {
        if (await askConfirm(t("console.num.confirm_release", { number: n.safe_number }), t("console.num.release"))) {
          await numberAction(release, n, "release");
        }
      });
      actions.append(release);
    }
  }
  box.replaceChildren(
    el(
      "div",
      { class: "card number-card", "data-number": n.safe_number },
      el("div", { class: "big-number" }, n.safe_number, " ", statusBadge(n.status)),
      el(
        "dl",
        { class: "facts" },
        el("dt", {}, t("console.num.phone")), el("dd", {}, n.owner_phone || "—"),
        el("dt", {}, t("console.num.plate")), el("dd", {}, n.plate || "—"),
        el("dt", {}, t("console.num.issued")), el("dd", {}, fmtDate(n.issued_at)),
        el("dt", {}, t("console.num.expires")), el("dd", {}, fmtDate(n.expires_at)),
        el("dt", {}, t("console.num.quarantine")), el("dd", {}, fmtDate(n.quarantine_until)),
      ),
      actions,
    ),
  );
}

async function numberAction(button, n, verb) {
  await guarded(button, async () => {
    const updated = await api.post(`/v1/ops/numbers/${encodeURIComponent(n.safe_number)}/${verb}`);
    numberDetail(updated);
    flash(t("console.num.done." + verb, { number: n.safe_number }));
    await loadNumberList(true);
  });
}

async function findNumber(ev) {
  ev.preventDefault();
  const f = ev.target;
  await guarded(f.querySelector("button"), async () => {
    try {
      numberDetail(await api.get("/v1/ops/numbers/" + encodeURIComponent(f.number.value.trim())));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        $("#number-detail").replaceChildren(el("p", { class: "note card" }, t("console.num.not_found")));
        return;
      }
      throw e;
    }
  });
}

async function loadNumberList(reset) {
  const f = $("#number-filter");
  if (reset) state.numbersCursor = null;
  const q = new URLSearchParams({ limit: 50 });
  if (f.status.value) q.set("status", f.status.value);
  if (f.prefix.value.trim()) q.set("prefix", f.prefix.value.trim().replace(/-/g, ""));
  if (state.numbersCursor) q.set("cursor", state.numbersCursor);
  const page = await api.get("/v1/ops/numbers?" + q);
  const body = $("#numbers-table tbody");
  if (reset) body.replaceChildren();
  for (const n of page.items) {
    const link = el("a", { href: "#numbers", class: "mono" }, n.safe_number);
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      numberDetail(n);
      $("#number-detail").scrollIntoView({ block: "nearest" });
    });
    body.append(el("tr", {}, el("td", {}, link), el("td", {}, statusBadge(n.status)), el("td", {}, n.owner_phone || "—"), el("td", {}, n.plate || "—"), el("td", {}, fmtDate(n.expires_at))));
  }
  if (reset && !page.items.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "empty-row" }, t("console.num.none"))));
  state.numbersCursor = page.next_cursor;
  $("#numbers-more").hidden = !page.next_cursor;
}

async function loadNumbersView() {
  await loadNumberList(true);
}

// --- blocked texts -----------------------------------------------------------------
const STATS_COLUMNS = ["delivered", "blocked", "released", "pending", "lost"];

function reviewRow(x) {
  const actions = el("div", { class: "actions" });
  if (canManage()) {
    const release = el("button", { type: "button", class: "small", "data-action": "release" }, t("console.review.release"));
    release.addEventListener("click", async () => {
      if (!(await askConfirm(t("console.review.confirm_release", { number: x.safe_number }), t("console.review.release")))) return;
      await guarded(release, async () => {
        await api.post(`/v1/ops/texts/${x.id}/release`);
        flash(t("console.review.released", { number: x.safe_number }));
        await Promise.all([loadReview(true), loadTextStats()]);
      });
    });
    actions.append(release);
    if (x.sender_key) {
      const spam = el("button", { type: "button", class: "small danger", "data-action": "spam" }, t("console.review.spam"));
      spam.addEventListener("click", async () => {
        if (!(await askConfirm(t("console.review.confirm_spam"), t("console.review.spam")))) return;
        await guarded(spam, async () => {
          await api.post(`/v1/ops/texts/${x.id}/spam`);
          flash(t("console.review.marked_spam"));
          spam.replaceWith(el("span", { class: "sub", "data-state": "spam" }, t("console.review.spam_blocked")));
        });
      });
      actions.append(spam);
    }
  }
  return el(
    "tr",
    { "data-text": x.id },
    el("td", {}, fmtTime(x.received_at)),
    el("td", { class: "mono" }, x.safe_number),
    el("td", {}, t("text.category." + x.category)),
    el("td", { class: "num" }, x.score.toFixed(2)),
    el(
      "td",
      { class: "sub" },
      x.reasons.join(" · "),
      x.model ? el("div", { class: "mono", "data-model": x.model }, t("console.review.model", { model: x.model })) : null,
    ),
    el(
      "td",
      { class: "textbody" },
      x.body,
      x.sender_key ? el("div", { class: "sub mono" }, t("console.review.sender_key", { key: x.sender_key })) : null,
    ),
    el("td", {}, actions),
  );
}

async function loadReview(reset) {
  if (reset) state.reviewCursor = null;
  const q = new URLSearchParams({ limit: 50 });
  if (state.reviewCursor) q.set("cursor", state.reviewCursor);
  const page = await api.get("/v1/ops/texts/blocked?" + q);
  const body = $("#review-table tbody");
  if (reset) body.replaceChildren();
  body.append(...page.items.map(reviewRow));
  if (reset && !page.items.length) {
    body.append(el("tr", {}, el("td", { colspan: 7, class: "empty-row", id: "review-empty" }, t("console.review.empty"))));
  }
  state.reviewCursor = page.next_cursor;
  $("#review-more").hidden = !page.next_cursor;
}

async function loadTextStats() {
  const stats = await api.get("/v1/ops/stats/texts");
  const body = $("#review-stats tbody");
  const rows = Object.entries(stats.texts).sort(([a], [b]) => a.localeCompare(b));
  body.replaceChildren(
    ...rows.map(([category, counts]) =>
      el(
        "tr",
        { "data-category": category },
        el("td", {}, t("text.category." + category)),
        ...STATS_COLUMNS.map((s) => el("td", { class: "num" }, fmtInt(counts[s] || 0))),
      ),
    ),
  );
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty-row" }, t("console.review.no_stats"))));
}

async function loadReviewView() {
  await Promise.all([loadReview(true), loadTextStats()]);
}

// --- audit -----------------------------------------------------------------------
function auditQuery() {
  const f = $("#audit-filter");
  const q = new URLSearchParams();
  if (f.since.value) q.set("since", f.since.value);
  if (f.until.value) q.set("until", f.until.value);
  return q;
}

function auditMatches(e, text) {
  if (!text) return true;
  const hay = `${e.actor} ${e.action} ${e.subject} ${JSON.stringify(e.detail)}`.toLowerCase();
  return hay.includes(text.toLowerCase());
}

async function loadAudit(reset) {
  if (reset) state.auditCursor = null;
  const q = auditQuery();
  q.set("limit", 100);
  if (state.auditCursor) q.set("cursor", state.auditCursor);
  const page = await api.get("/v1/ops/audit?" + q);
  const text = $("#audit-filter").text.value.trim();
  const body = $("#audit-table tbody");
  if (reset) body.replaceChildren();
  for (const e of page.items.filter((x) => auditMatches(x, text))) {
    body.append(
      el(
        "tr",
        { class: e.action === "owner.destroyed" ? "receipt-row" : null },
        el("td", { class: "num" }, e.id),
        el("td", {}, fmtTime(e.at)),
        el("td", { class: "mono" }, e.actor),
        el("td", { class: "mono" }, e.action),
        el("td", { class: "mono" }, e.subject),
        el("td", { class: "detail" }, JSON.stringify(e.detail)),
      ),
    );
  }
  if (reset && !body.children.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty-row" }, t("console.audit.none"))));
  state.auditCursor = page.next_cursor;
  $("#audit-more").hidden = !page.next_cursor;
}

async function loadAuditView() {
  await loadAudit(true);
}

async function downloadCsv(ev) {
  await guarded(ev.target, async () => {
    const blob = await api.get("/v1/ops/audit.csv?" + auditQuery(), { blob: true });
    saveBlob(blob, "safenum-audit.csv");
  });
}

// --- wiring ----------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", async () => {
    await api.signOut();
    showSignedIn(false);
  });
  $("#dash-agreement").addEventListener("change", () => guarded(null, loadDashboard));
  $("#agreement-form").addEventListener("submit", createAgreement);
  $("#pool-form").addEventListener("submit", addPool);
  $("#number-search").addEventListener("submit", findNumber);
  $("#number-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(ev.target.querySelector("button"), () => loadNumberList(true));
  });
  $("#numbers-more").addEventListener("click", (ev) => guarded(ev.target, () => loadNumberList(false)));
  $("#audit-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(ev.target.querySelector("button[type=submit]"), () => loadAudit(true));
  });
  $("#audit-more").addEventListener("click", (ev) => guarded(ev.target, () => loadAudit(false)));
  $("#review-more").addEventListener("click", (ev) => guarded(ev.target, () => loadReview(false)));
  $("#audit-csv").addEventListener("click", downloadCsv);
  window.addEventListener("hashchange", route);
  route();
});
