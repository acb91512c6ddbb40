// The energy report: a hash-routed single-page app over the results API.
import * as api from "./report?asset=api.js";
import { say, fail } from "./report?asset=dom.js";
import { signinPage } from "./report?asset=signin.js";
import { jobsPage } from "./report?asset=jobs.js";
import { jobPage } from "./report?asset=job.js";
import { comparePage } from "./report?asset=compare.js";
import { benchmarksPage, benchmarkPage } from "./report?asset=bench.js";
import { uploadPage } from "./report?asset=upload.js";

const routes = [
  [/^\/jobs$/, () => jobsPage()],
  [/^\/job\/(.+)$/, (m, q) => jobPage(decodeURIComponent(m[1]), q)],
  [/^\/compare$/, (m, q) => comparePage((q.get("jobs") || "").split(",").filter(Boolean))],
  [/^\/benchmarks$/, () => benchmarksPage()],
  [/^\/benchmark\/(.+)$/, (m) => benchmarkPage(decodeURIComponent(m[1]))],
  [/^\/upload$/, () => uploadPage()],
];

// Each page returns a cleanup (timers, plots) run before the next one.
let cleanup = null;

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* the old page is gone anyway */ } cleanup = null; }
  say("");
  const [path, query] = (location.hash.slice(1) || "/jobs").split("?");
  const q = new URLSearchParams(query || "");
  if (!api.signedIn()) {
    signinPage(path === "/signin" ? "/jobs" : path + (query ? "?" + query : ""));
    return;
  }
  for (const a of document.querySelectorAll("#nav a")) {
    const on = path.startsWith(a.getAttribute("href").slice(1).replace(/s$/, ""));
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  for (const [re, fn] of routes) {
    const m = path.match(re);
    if (m) {
      try { cleanup = (await fn(m, q)) || null; } catch (e) { authOr(e); }
      return;
    }
  }
  location.hash = "#/jobs";
}

export function authOr(e) {
  if (e && e.status === 401 && !api.signedIn()) { route(); return; }
  fail(e);
}

api.onAuthChange((on) => { document.getElementById("nav").hidden = !on; });
document.getElementById("signout").addEventListener("click", async () => {
  try { await api.signOut(); } catch (e) { fail(e); }
  location.hash = "#/signin";
  route();
  say("Signed out.");
});
addEventListener("hashchange", route);
route();
