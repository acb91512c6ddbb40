// The API client: tokens kept in memory only (never in storage), refreshed
// a minute before they expire, and one retry after a refresh on 401.

// The page sits at <prefix>/report; the API answers under the same prefix
// (/ or /api). Under /function/report the original routes at / are used.
export const base = (() => {
  let p = location.pathname.replace(/\/report\/?$/, "");
  if (p.endsWith("/function")) p = "";
  return p.replace(/\/$/, "");
})();

const auth = { access: "", refresh: "", user: "", timer: 0 };
const listeners = new Set();

export function signedIn() { return auth.access !== ""; }
export function user() { return auth.user; }
export function onAuthChange(fn) { listeners.add(fn); }

export class APIError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

function claims(jwt) {
  try {
    const b64 = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(b64));
  } catch {
    return {};
  }
}

function setTokens(t) {
  auth.access = t.access || "";
  auth.refresh = t.refresh || "";
  const c = claims(auth.access);
  auth.user = c.username || c.sub || "";
  clearTimeout(auth.timer);
  if (auth.access && c.exp) {
    // Refresh 60 s before expiry (at half the lifetime for short tokens).
    const left = c.exp * 1000 - Date.now();
    const wait = Math.max(1000, Math.min(left - 60000, left / 2));
    auth.timer = setTimeout(() => refresh().catch(() => {}), wait);
  }
  listeners.forEach((fn) => fn(signedIn()));
}

async function post(path, body) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "omit",
  });
  const js = await r.json().catch(() => ({}));
  if (!r.ok) throw new APIError(r.status, typeof js.detail === "string" ? js.detail : js.detail?.message);
  return js;
}

export async function signIn(username, password) {
  setTokens(await post("/auth/password", { username, password }));
}

let refreshing = null;
export function refresh() {
  if (!auth.refresh) return Promise.reject(new APIError(401, "Not signed in."));
  // One refresh at a time: the refresh token rotates.
  refreshing ??= post("/auth/refresh", { refresh: auth.refresh })
    .then(setTokens, (e) => { if (e.status === 401) setTokens({}); throw e; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function signOut() {
  const rt = auth.refresh;
  setTokens({});
  if (!rt) return;
  try {
    await post("/auth/logout", { refresh: rt });
  } catch (e) {
    // An API without /auth/logout (404/405) still signs out locally: the
    // tokens are gone from memory.
    if (e.status !== 404 && e.status !== 405) throw e;
  }
}

// request sends an authenticated request and returns the Response.
export async function request(path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    if (!auth.access) throw new APIError(401, "Please sign in.");
    const headers = { ...(opts.headers || {}), Authorization: "Bearer " + auth.access };
    const r = await fetch(base + path, { ...opts, headers, credentials: "omit" });
    if (r.status === 401 && attempt === 0 && auth.refresh) {
      await refresh();
      continue;
    }
    if (!r.ok) {
      const js = await r.json().catch(() => ({}));
      throw new APIError(r.status, typeof js.detail === "string" ? js.detail : js.detail?.message);
    }
    return r;
  }
}

export async function getJSON(path, opts) {
  return (await request(path, opts)).json();
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}

// The bearer token for an XMLHttpRequest-based upload (progress events).
export function bearer() { return "Bearer " + auth.access; }
