/* The drivers' app: sign in with a code, get a safe number, print the card, manage it.
   Preferences, call records and blocks live in app-calls.js; texts in app-texts.js. */
"use strict";

const api = new Api(localStorage, "safenum.app");
const session = { phone: null, cardUrls: [] };

function show(screen) {
  $$(".screen").forEach((s) => (s.hidden = s.id !== screen));
  window.scrollTo(0, 0);
}

const signedIn = () => {
  const c = api.claims;
  return Boolean(c && c.knd === "driver");
};

api.onSignedOut = () => {
  flash(t("err.unauthenticated"), "error");
  startSignIn();
};

// --- sign-in -----------------------------------------------------------------------
function startSignIn() {
  $("#phone-form").hidden = false;
  $("#code-form").hidden = true;
  show("signin");
}

async function sendCode(ev) {
  ev.preventDefault();
  const f = $("#phone-form");
  await guarded(f.querySelector("button"), async () => {
    const phone = f.phone.value.trim();
    const sent = await api.post("/v1/auth/code", { phone }, { anonymous: true, idempotent: true });
    session.phone = phone;
    $("#code-sent").textContent = t("app.signin.sent", { phone: sent.phone, minutes: Math.round(sent.expires_in / 60) });
    // Development servers only (SAFENUM_ENV=development) return the code itself.
    $("#dev-code").hidden = !sent.dev_code;
    $("#dev-code").textContent = sent.dev_code ? t("app.signin.dev_code", { code: sent.dev_code }) : "";
    f.hidden = true;
    $("#code-form").hidden = false;
    $("#code-form").code.focus();
  });
}

async function verifyCode(ev) {
  ev.preventDefault();
  const f = $("#code-form");
  await guarded(f.querySelector("button"), async () => {
    api.tokens = await api.post("/v1/auth/code/verify", { phone: session.phone, code: f.code.value.trim() }, { anonymous: true });
    f.reset();
    await loadHome();
  });
}

// --- home --------------------------------------------------------------------------
function numberCard(n) {
  const actions = el("div", { class: "stack" });
  const more = el("div", { class: "pair" });
  const add = (label, cls, handler, action, box) => {
    const b = el("button", { type: "button", class: "big " + (cls || ""), "data-action": action }, label);
    b.addEventListener("click", () => handler(b));
    (box || actions).append(b);
  };
  if (n.status === "active" || n.status === "paused") {
    add(t("app.number.card"), "primary", () => openCard(n), "card");
  }
  if (n.status === "active") add(t("app.number.pause"), "", (b) => lifecycle(b, n, "pause"), "pause");
  if (n.status === "paused") add(t("app.number.resume"), "", (b) => lifecycle(b, n, "resume"), "resume");
  add(t("app.number.renew"), "ghost", (b) => lifecycle(b, n, "renew"), "renew", more);
  add(
    t("app.number.release"),
    "danger",
    async (b) => {
      if (await askConfirm(t("app.number.confirm_release", { number: n.safe_number }), t("app.number.release"))) {
        await lifecycle(b, n, "release");
      }
    },
    "release",
    more,
  );
  actions.append(more);
  return el(
    "article",
    { class: "number-card", "data-number": n.safe_number },
    el("div", { class: "label" }, t("app.number.label")),
    el("div", { class: "big-number" }, n.safe_number),
    el("div", { class: "meta" }, statusBadge(n.status), " ", n.plate || "", " · ", t("app.number.until", { date: fmtDate(n.expires_at) })),
    el("p", { class: "note" }, t("app.number.explain." + n.status)),
    actions,
  );
}

function vehicleItem(v) {
  const item = el("li", { "data-vehicle": v.id }, el("span", { class: "plate" }, v.plate));
  if (v.safe_number) {
    item.append(el("span", { class: "mono" }, v.safe_number));
  } else {
    const get = el("button", { type: "button", class: "primary", "data-action": "issue" }, t("app.vehicle.get_number"));
    get.addEventListener("click", () =>
      guarded(get, async () => {
        const n = await api.post(`/v1/vehicles/${v.id}/number`, {}, { idempotent: true });
        flash(t("app.vehicle.issued", { number: n.safe_number }));
        await loadHome();
      }),
    );
    item.append(get);
  }
  return item;
}

async function loadHome() {
  if (!signedIn()) {
    startSignIn();
    return;
  }
  const [vehicles, numbers] = await Promise.all([api.get("/v1/vehicles"), api.get("/v1/numbers")]);
  const box = $("#numbers");
  box.replaceChildren(...numbers.map(numberCard));
  if (!numbers.length) {
    box.append(el("div", { class: "empty" }, el("p", {}, vehicles.length ? t("app.home.no_number") : t("app.home.no_vehicle"))));
  }
  $("#vehicles").replaceChildren(...vehicles.map(vehicleItem));
  await Promise.all([loadPrefs(numbers), loadCalls(false), loadTexts(false)]);
  show("home");
}

async function lifecycle(button, n, verb) {
  await guarded(button, async () => {
    await api.post(`/v1/numbers/${encodeURIComponent(n.safe_number)}/${verb}`);
    flash(t("app.number.done." + verb, { number: n.safe_number }));
    await loadHome();
  });
}

async function addVehicle(ev) {
  ev.preventDefault();
  const f = ev.target;
  await guarded(f.querySelector("button"), async () => {
    const v = await api.post("/v1/vehicles", { plate: f.plate.value.trim() });
    f.reset();
    flash(t("app.vehicle.added", { plate: v.plate }));
    await loadHome();
  });
}

// --- card --------------------------------------------------------------------------
function dropCardUrls() {
  session.cardUrls.forEach((u) => URL.revokeObjectURL(u));
  session.cardUrls = [];
}

async function openCard(n) {
  await guarded(null, async () => {
    const base = `/v1/numbers/${encodeURIComponent(n.safe_number)}/card`;
    const [png, pdf] = await Promise.all([api.get(base + ".png", { blob: true }), api.get(base + ".pdf", { blob: true })]);
    dropCardUrls();
    const pngUrl = URL.createObjectURL(png);
    const pdfUrl = URL.createObjectURL(pdf);
    session.cardUrls.push(pngUrl, pdfUrl);
    const digits = n.safe_number.replace(/\D/g, "");
    $("#card-img").src = pngUrl;
    $("#card-png").href = pngUrl;
    $("#card-png").download = `safenum-card-${digits}.png`;
    $("#card-pdf").href = pdfUrl;
    $("#card-pdf").download = `safenum-card-${digits}.pdf`;
    show("card");
  });
}

// --- account -----------------------------------------------------------------------
async function deleteAccount(ev) {
  if (!(await askConfirm(t("app.account.confirm_delete"), t("app.account.delete")))) return;
  await guarded(ev.target, async () => {
    const r = await api.call("DELETE", "/v1/me");
    api.tokens = null;
    const rows = [
      ["app.receipt.id", r.receipt_id],
      ["app.receipt.at", fmtTime(r.destroyed_at)],
      ["app.receipt.method", r.method],
      ["app.receipt.destroyed", r.destroyed.join(", ")],
      ["app.receipt.released", fmtInt(r.numbers_released)],
    ];
    $("#receipt-list").replaceChildren(
      ...rows.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { class: k === "app.receipt.id" ? "mono" : null }, v)]),
    );
    show("receipt");
  });
}

// --- wiring ------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  $("#phone-form").addEventListener("submit", sendCode);
  $("#code-form").addEventListener("submit", verifyCode);
  $("#code-again").addEventListener("click", startSignIn);
  $("#vehicle-form").addEventListener("submit", addVehicle);
  $("#records-more").addEventListener("click", (ev) => guarded(ev.target, () => loadCalls(true)));
  $("#texts-more").addEventListener("click", (ev) => guarded(ev.target, () => loadTexts(true)));
  $("#sign-out").addEventListener("click", async () => {
    await api.signOut();
    startSignIn();
  });
  $("#delete-account").addEventListener("click", deleteAccount);
  $("#card-back").addEventListener("click", () => {
    dropCardUrls();
    show("home");
  });
  $("#card-print").addEventListener("click", () => window.print());
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {
      /* the app works without it; only installing and offline start need it */
    });
  }
  if (signedIn()) guarded(null, loadHome);
  else startSignIn();
});
