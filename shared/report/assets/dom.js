// DOM helpers: elements are built from data, never from HTML strings.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const statusEl = () => document.getElementById("status");

// say announces a message (role=status); error styles it as one.
export function say(msg, error = false) {
  const s = statusEl();
  s.textContent = msg || "";
  s.classList.toggle("error", !!error && !!msg);
}

export function fail(e) {
  say(e && e.message ? e.message : String(e), true);
}

// page replaces the main content and moves focus to its heading, so
// keyboard and screen-reader users land on the new page.
export function page(title, ...children) {
  const main = document.getElementById("main");
  const h1 = h("h1", { tabindex: "-1" }, title);
  main.replaceChildren(h1, ...children);
  document.title = title + " · benchwrap report";
  h1.focus({ preventScroll: true });
  return main;
}

export function badge(text, kind = "") {
  return h("span", { class: "badge " + kind }, text);
}

export function statusBadge(s) {
  const v = String(s || "").toLowerCase();
  const kind = ["done", "analysed", "analyzed", "ok", "complete", "completed"].includes(v) ? "ok"
    : ["failed", "error", "skipped", "rejected"].includes(v) ? "bad"
      : ["queued", "running", "pending", "analysing", "analyzing", "uploading"].includes(v) ? "busy" : "";
  return badge(v || "unknown", kind);
}

export function card(label, value) {
  return h("div", { class: "card" }, h("b", {}, value), h("span", {}, label));
}

export function table(cols, rows, opts = {}) {
  const thead = h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: c.num ? "num" : "", scope: "col" }, c.label))));
  const tbody = h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", { class: c.num ? "num" : "" }, c.cell(r))))));
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": opts.label || "table" }, h("table", {}, thead, tbody));
}

// download fetches an authenticated resource and saves it as a file.
export async function save(resp, name) {
  const blob = await resp.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
