/* Shared by the console and the drivers' app: strings, the /v1 client, small DOM helpers. */
"use strict";

const STRINGS = JSON.parse(document.getElementById("strings").textContent);
const LANG = document.documentElement.lang || "ko";

/** The string for key, with {name} placeholders filled from vars. */
function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(STRINGS, key) ? STRINGS[key] : key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

/** Build an element: el("td", {class: "num"}, "12"). Text only, never HTML. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const $ = (sel, root) => (root || document).querySelector(sel);
const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

/** An Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || "HTTP " + status);
    this.status = status;
    this.title = (body && body.title) || "http-" + status;
    this.errors = (body && body.errors) || [];
  }
  /** What to show a person: the string for the stable id, else the server's detail. */
  get human() {
    const key = "err." + this.title;
    if (Object.prototype.hasOwnProperty.call(STRINGS, key)) return t(key);
    return this.message;
  }
}

/** The /v1 client: bearer tokens in the given storage, one refresh-and-retry on 401. */
class Api {
  constructor(storage, name) {
    this.storage = storage;
    this.name = name;
    this.onSignedOut = () => {};
  }
  get tokens() {
    try {
      return JSON.parse(this.storage.getItem(this.name) || "null");
    } catch (e) {
      return null;
    }
  }
  set tokens(v) {
    if (v) this.storage.setItem(this.name, JSON.stringify(v));
    else this.storage.removeItem(this.name);
  }
  /** Claims of the access token (for the UI only; the API decides). */
  get claims() {
    const tok = this.tokens;
    if (!tok) return null;
    try {
      const part = tok.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) {
      return null;
    }
  }
  async _fetch(method, path, body, opts) {
    const headers = { Accept: "application/json, application/problem+json" };
    const tok = this.tokens;
    if (tok && !opts.anonymous) headers.Authorization = "Bearer " + tok.access_token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.idempotent) headers["Idempotency-Key"] = randomKey();
    return fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  }
  async _refresh() {
    const tok = this.tokens;
    if (!tok) return false;
    const r = await this._fetch("POST", "/v1/auth/refresh", { refresh_token: tok.refresh_token }, { anonymous: true });
    if (!r.ok) return false;
    this.tokens = await r.json();
    return true;
  }
  /** Call the API; returns parsed JSON, a Blob (opts.blob) or null (204). Throws ApiError. */
  async call(method, path, body, opts) {
    opts = opts || {};
    let r = await this._fetch(method, path, body, opts);
    if (r.status === 401 && !opts.anonymous && this.tokens) {
      if (await this._refresh()) r = await this._fetch(method, path, body, opts);
      if (r.status === 401) {
        this.tokens = null;
        this.onSignedOut();
      }
    }
    if (!r.ok) {
      let problem = null;
      try {
        problem = await r.json();
      } catch (e) {
        problem = null;
      }
      throw new ApiError(r.status, problem);
    }
    if (opts.blob) return r.blob();
    if (r.status === 204) return null;
    return r.json();
  }
  get(path, opts) {
    return this.call("GET", path, undefined, opts);
  }
  post(path, body, opts) {
    return this.call("POST", path, body === undefined ? undefined : body, opts);
  }
  async signOut() {
    const tok = this.tokens;
    if (tok) {
      try {
        await this.call("POST", "/v1/auth/sign-out", { refresh_token: tok.refresh_token });
      } catch (e) {
        /* already revoked or offline: forget the tokens either way */
      }
    }
    this.tokens = null;
  }
}

/** Show a short message; kind "error" stays until the next one. */
function flash(message, kind) {
  const box = $("#flash");
  box.textContent = message;
  box.className = "flash " + (kind || "ok");
  box.hidden = false;
  clearTimeout(flash.timer);
  if (kind !== "error") flash.timer = setTimeout(() => (box.hidden = true), 4000);
}

/** Run an async action from a button: disable it meanwhile, report errors. */
async function guarded(button, action) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (e) {
    flash(e instanceof ApiError ? e.human : t("err.network"), "error");
    if (!(e instanceof ApiError)) console.error(e);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Ask in the page's <dialog id="confirm">; resolves true on "yes". */
function askConfirm(message, yesLabel) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = message;
  $("#confirm-yes").textContent = yesLabel || t("common.confirm");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

const _dateFmt = new Intl.DateTimeFormat(LANG === "ko" ? "ko-KR" : "en-GB", {
  timeZone: "Asia/Seoul",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});
const _timeFmt = new Intl.DateTimeFormat(LANG === "ko" ? "ko-KR" : "en-GB", {
  timeZone: "Asia/Seoul",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});
const fmtDate = (iso) => (iso ? _dateFmt.format(new Date(iso)) : "—");
const fmtTime = (iso) => (iso ? _timeFmt.format(new Date(iso)) : "—");
const fmtInt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString(LANG));

/** Today in Asia/Seoul as YYYY-MM-DD, and date arithmetic on such strings. */
function seoulToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul" }).format(new Date());
}
function addDays(day, n) {
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Save a Blob under a file name through a temporary link. */
function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function statusBadge(status) {
  return el("span", { class: "badge s-" + status }, t("status." + status));
}
