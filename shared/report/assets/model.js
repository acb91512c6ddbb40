// The one place that knows the results API's JSON shapes (issue 16):
// pages read jobs, series and benchmarks through these functions.

export function pick(o, ...names) {
  if (!o) return undefined;
  for (const n of names) {
    const v = n.split(".").reduce((x, k) => (x == null ? undefined : x[k]), o);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

// seconds converts a time (epoch s or ms, or an ISO string) to epoch seconds.
export function seconds(v) {
  if (v == null) return null;
  if (typeof v === "string") {
    const n = Number(v);
    if (!Number.isNaN(n) && v.trim() !== "") return seconds(n);
    const d = Date.parse(v);
    return Number.isNaN(d) ? null : d / 1000;
  }
  return v > 1e11 ? v / 1000 : v;
}

// job flattens one row of /results/jobs or the head of /results/jobs/{job}.
export function job(j) {
  const t = j.totals || j;
  const start = seconds(pick(j, "start", "started_at", "start_time", "totals.start"));
  const end = seconds(pick(j, "end", "ended_at", "end_time", "totals.end"));
  return {
    raw: j,
    id: String(pick(j, "job", "job_id", "id") ?? ""),
    benchmark: pick(j, "benchmark", "benchmark_name") || "",
    label: pick(j, "label", "prefix") || "",
    start, end,
    nodes: num(pick(t, "nodes", "node_count")) ?? arrLen(j.nodes),
    steps: num(pick(t, "steps", "step_count")) ?? arrLen(j.steps),
    energy: num(pick(t, "energy_j", "energy", "total_energy_j")),
    wall: num(pick(t, "wall_s", "wall_time_s", "duration_s", "elapsed_s")) ?? (start != null && end != null ? end - start : null),
    avgPower: num(pick(t, "avg_power_w", "mean_power_w", "average_power_w")),
    peakPower: num(pick(t, "peak_power_w", "max_power_w")),
    edp: num(pick(t, "edp", "edp_js")),
    cost: num(pick(t, "cost", "cost_eur", "total_cost")),
    co2: num(pick(t, "co2_g", "co2", "carbon_g")),
    flags: flags(pick(j, "quality_flags", "flags", "quality.flags") || []),
    regression: pick(j, "regression", "regressions") || null,
    files: j.files,
    status: pick(j, "status", "analysis_status") || "",
  };
}

function num(v) {
  if (v == null || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
function arrLen(a) { return Array.isArray(a) ? a.length : (typeof a === "number" ? a : null); }

function flags(f) {
  if (Array.isArray(f)) return f.map((x) => (typeof x === "string" ? x : pick(x, "flag", "code", "name") || JSON.stringify(x)));
  if (typeof f === "object") return Object.entries(f).filter(([, v]) => v).map(([k]) => k);
  return [];
}

// regressionText describes a regression flag, or "" when there is none.
export function regressionText(r) {
  if (!r) return "";
  if (Array.isArray(r)) return r.map(regressionText).filter(Boolean).join(", ");
  if (r === true) return "regression";
  if (typeof r !== "object") return String(r);
  if (r.flagged === false || r.regression === false) return "";
  const parts = [];
  for (const m of ["energy", "time"]) {
    const x = r[m];
    const pct = typeof x === "object" && x ? pick(x, "change_pct", "pct", "change") : r[m + "_change_pct"];
    if (x === true || (x && x.flagged !== false && pct != null)) parts.push(`${m} ${pct != null ? signed(pct) + "%" : ""}`.trim());
  }
  if (!parts.length) {
    const pct = pick(r, "change_pct", "pct");
    if (pct != null) parts.push(`${pick(r, "metric") || ""} ${signed(pct)}%`.trim());
    else if (r.flagged || r.regression) parts.push("regression");
  }
  return parts.join(", ");
}
function signed(x) { const n = Number(x); return (n > 0 ? "+" : "") + n.toFixed(1); }

// jobDetail adds the per-step and per-node rows, warnings and files.
export function jobDetail(d) {
  const j = job(d);
  const rows = (xs, key) => (Array.isArray(xs) ? xs : Object.entries(xs || {}).map(([k, v]) => ({ [key]: k, ...v })))
    .map((x) => ({ name: String(pick(x, key, "name", "id") ?? ""), ...job(x) }));
  j.stepRows = rows(d.steps, "step");
  j.nodeRows = rows(d.nodes, "node");
  const q = d.quality || d.quality_report || {};
  j.warnings = [].concat(q.warnings || [], d.warnings || []).map((w) => (typeof w === "string" ? w : pick(w, "message", "detail") || JSON.stringify(w)));
  j.fileRows = (Array.isArray(d.files) ? d.files : []).map((f) => ({ key: pick(f, "key", "object_key", "name") || "", status: pick(f, "status", "analysis_status") || "", error: pick(f, "error", "skip_reason") || "" }));
  j.mode = d.mode || "";
  j.priced = j.cost != null;
  return j;
}

// series normalises /results/jobs/{job}/series to
// {t: [s], nodes: [name], power|energy|cpu: {node: [..]}, price, cost}.
export function series(s) {
  const t = (pick(s, "t", "time", "ts", "columns.t", "columns.time") || []).map(seconds);
  const out = { t, nodes: [], power: {}, energy: {}, cpu: {}, price: null, cost: null, points: t.length };
  const perNode = pick(s, "nodes");
  const fieldsOf = (field) => pick(s, `series.${field}`, field, `columns.${field}`);
  if (perNode && !Array.isArray(perNode) && typeof perNode === "object") {
    // {nodes: {node01: {power: [], energy: [], cpu: []}}}
    for (const [n, v] of Object.entries(perNode)) {
      out.nodes.push(n);
      for (const f of ["power", "energy", "cpu"]) if (v[f] || v[f + "_w"]) out[f][n] = v[f] || v[f + "_w"];
    }
  } else {
    for (const f of ["power", "energy", "cpu"]) {
      const v = fieldsOf(f);
      if (v && !Array.isArray(v)) Object.assign(out[f], v);
      else if (Array.isArray(v)) out[f]["all"] = v;
    }
    out.nodes = Array.isArray(perNode) && perNode.length && Object.keys(out.power).every((k) => perNode.includes(k))
      ? perNode.slice() : [...new Set([...Object.keys(out.power), ...Object.keys(out.energy), ...Object.keys(out.cpu)])];
  }
  const arr = (v) => (Array.isArray(v) ? v : v && typeof v === "object" ? sumSeries(Object.values(v), t.length) : null);
  out.price = arr(fieldsOf("price"));
  out.cost = arr(fieldsOf("cost"));
  return out;
}

// sumSeries adds series point by point; missing values count as absent.
export function sumSeries(list, n) {
  const out = new Array(n).fill(null);
  for (const s of list) for (let i = 0; i < n; i++) {
    const v = s[i];
    if (v != null) out[i] = (out[i] ?? 0) + v;
  }
  return out;
}

// cumulative integrates power (W) over time (s) into energy (J).
export function cumulative(t, p) {
  const out = new Array(t.length).fill(null);
  let acc = 0;
  for (let i = 0; i < t.length; i++) {
    if (i > 0 && p[i] != null && p[i - 1] != null) acc += ((p[i] + p[i - 1]) / 2) * (t[i] - t[i - 1]);
    out[i] = acc;
  }
  return out;
}

// benchmark normalises /results/benchmarks/{name}.
export function benchmark(b) {
  const runs = (pick(b, "runs", "jobs") || []).map(job);
  const stats = pick(b, "stats", "energy_stats", "statistics") || {};
  const e = stats.energy_j || stats.energy || stats;
  const base = pick(b, "baseline", "baseline.energy_j", "baseline.energy") || {};
  const be = base.energy_j || base.energy || base;
  return {
    name: pick(b, "name", "benchmark") || "",
    runs,
    stats: { count: num(pick(b, "count", "stats.count")) ?? runs.length, mean: num(pick(e, "mean")), median: num(pick(e, "median")), stdev: num(pick(e, "stdev", "std")), min: num(pick(e, "min")), max: num(pick(e, "max")) },
    baseline: { low: num(pick(be, "low", "lower", "min")), high: num(pick(be, "high", "upper", "max")), median: num(pick(be, "median", "center")) },
    best: pick(b, "best", "best_run") || null,
    trend: pick(b, "trend") || null,
  };
}

export function benchmarks(list) {
  const xs = Array.isArray(list) ? list : pick(list, "benchmarks", "items") || [];
  return xs.map((b) => ({ name: pick(b, "name", "benchmark") || "", count: num(pick(b, "count", "runs", "stats.count")), median: num(pick(b, "median", "energy_j.median", "stats.energy_j.median", "energy.median")), last: seconds(pick(b, "last", "last_run", "latest")) }));
}

export function jobsPage(r) {
  return { jobs: (pick(r, "jobs", "items", "results") || []).map(job), next: pick(r, "next", "next_cursor", "cursor") || "" };
}

// Formatting.
export const fmt = {
  energy(j) { if (j == null) return "–"; const a = Math.abs(j); return a >= 3.6e6 ? (j / 3.6e6).toFixed(2) + " kWh" : a >= 1e3 ? (j / 1e3).toFixed(1) + " kJ" : j.toFixed(0) + " J"; },
  power(w) { return w == null ? "–" : Math.abs(w) >= 1e3 ? (w / 1e3).toFixed(2) + " kW" : w.toFixed(0) + " W"; },
  time(s) { if (s == null) return "–"; if (s < 120) return s.toFixed(0) + " s"; if (s < 7200) return (s / 60).toFixed(1) + " min"; return (s / 3600).toFixed(1) + " h"; },
  date(s) { return s == null ? "–" : new Date(s * 1000).toISOString().replace("T", " ").slice(0, 16); },
  cost(c) { return c == null ? "–" : c.toFixed(c < 1 ? 4 : 2) + " €"; },
  co2(g) { return g == null ? "–" : g >= 1000 ? (g / 1000).toFixed(2) + " kg" : g.toFixed(0) + " g"; },
  edp(x) { return x == null ? "–" : x.toExponential(2) + " J·s"; },
  num(x, d = 2) { return x == null ? "–" : Number(x).toFixed(d); },
};
