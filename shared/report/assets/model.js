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

function num(v) {
  if (v == null || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

// figures reads the energy figures of a job, a step or a node.
function figures(o) {
  const co2kg = num(o.co2_kg);
  return {
    energy: num(o.energy_j),
    wall: num(o.wall_time_s),
    avgPower: num(o.average_power_w),
    peakPower: num(o.peak_power_w),
    edp: num(o.edp),
    cost: num(o.cost_eur),
    co2: co2kg == null ? null : co2kg * 1000, // grams
    start: num(o.start_epoch_s),
    end: num(o.end_epoch_s),
  };
}

// job flattens one row of /results/jobs (or the head of a job's detail).
export function job(j) {
  const files = num(j.files), filesDone = num(j.files_done);
  return {
    raw: j,
    id: String(j.job ?? ""),
    benchmark: j.benchmark || "",
    label: j.label || "",
    mode: j.mode || "",
    nodes: num(j.nodes),
    steps: num(j.steps),
    ...figures(j),
    flags: (j.quality && j.quality.flags) || [],
    quality: j.quality || {},
    regression: j.regression || null,
    files, filesDone,
    status: j.status || "",
    // Files still being analysed: the list polls while any job has some.
    busy: files != null && filesDone != null && filesDone < files,
  };
}

export function jobsPage(r) {
  return { jobs: (r.jobs || []).map(job), next: r.next || "" };
}

// regressionText describes a run's regression verdict, or "" when none.
export function regressionText(r) {
  if (!r || !r.flagged) return "";
  const parts = [];
  for (const [key, name] of [["energy_j", "energy"], ["wall_time_s", "time"]]) {
    const v = r[key];
    if (v && v.flagged) parts.push(v.change != null ? `${name} ${v.change > 0 ? "+" : ""}${(v.change * 100).toFixed(0)}%` : name);
  }
  return parts.join(", ") || "flagged";
}

// jobDetail adds the per-step and per-node rows, warnings and files.
export function jobDetail(d) {
  const j = job(d);
  j.stepRows = (d.step_list || []).map((s) => ({ name: s.step + (s.in_total === false ? " (not in total)" : ""), step: s.step, inTotal: s.in_total !== false, ...figures(s) }));
  j.nodeRows = (d.node_list || []).map((n) => ({ name: `${n.node} · step ${n.step}`, node: n.node, step: n.step, ...figures(n) }));
  j.fileRows = (d.file_list || []).map((f) => ({ key: f.key || "", status: f.status || "", error: f.reason || "", rows: num(f.rows) }));
  const q = d.quality || {};
  const w = [];
  if (q.nulls) w.push(`${q.nulls} missing values`);
  if (q.out_of_range) w.push(`${q.out_of_range} values out of range`);
  if (q.long_gaps) w.push(`${q.long_gaps} long gaps between samples`);
  if (q.warnings) w.push(`${q.warnings} analysis warnings`);
  if (q.skipped_files) w.push(`${q.skipped_files} files skipped`);
  if (q.failed_files) w.push(`${q.failed_files} files failed`);
  for (const f of j.fileRows) if (f.error) w.push(`${f.key}: ${f.error}`);
  j.warnings = w;
  j.inTotal = new Set(j.stepRows.filter((s) => s.inTotal).map((s) => s.step));
  return j;
}

// series joins /results/jobs/{job}/series (one columnar series per step
// and node, each on its own times) onto one time axis:
// {t, lines: [{step, node, power, energy, cpu, price}], points, rows}.
export function series(r) {
  const parts = (r.series || []).filter((s) => s.t && s.t.length);
  const fields = ["power", "energy", "cpu", "price"];
  const out = { t: [], lines: [], points: 0, rows: 0 };
  if (!parts.length) return out;
  const tables = parts.map((s) => [s.t, ...fields.map((f) => (s.columns && s.columns[f]) || s.t.map(() => null))]);
  const joined = tables.length === 1 ? tables[0] : uPlot.join(tables);
  out.t = joined[0];
  parts.forEach((s, i) => {
    const line = { step: s.step, node: s.node, file: s.file };
    fields.forEach((f, k) => { line[f] = s.columns && s.columns[f] ? joined[1 + i * fields.length + k] : null; });
    out.lines.push(line);
    out.rows += s.rows || 0;
  });
  out.points = out.t.length;
  return out;
}

// sumLines adds series point by point. Within its own time range each
// series holds its last value between its samples (joined axes have
// gaps where another series sampled).
export function sumLines(list, n) {
  const out = new Array(n).fill(null);
  for (const s of list) {
    let first = s.findIndex((v) => v != null), last = -1;
    for (let i = n - 1; i >= 0; i--) if (s[i] != null) { last = i; break; }
    if (first < 0) continue;
    let prev = null;
    for (let i = first; i <= last; i++) {
      if (s[i] != null) prev = s[i];
      if (prev != null) out[i] = (out[i] ?? 0) + prev;
    }
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

// K is the regression threshold in scaled MADs (RESULTS_REGRESSION_K's
// default): the baseline band is median ± K × 1.4826 × MAD.
const K = 3;

// benchmark normalises /results/benchmarks/{name}.
export function benchmark(b) {
  const runs = (b.runs_list || []).map((r) => {
    const e = r.energy_j || {};
    const m = num(e.baseline_median), mad = num(e.baseline_mad);
    return {
      id: String(r.job), start: num(r.start_epoch_s), energy: num(e.value), wall: num((r.wall_time_s || {}).value), edp: num(r.edp),
      regression: r, baselineRuns: num(r.baseline_runs),
      low: m != null && mad != null && r.baseline_runs ? m - K * 1.4826 * mad : null,
      high: m != null && mad != null && r.baseline_runs ? m + K * 1.4826 * mad : null,
    };
  });
  const e = b.energy_j || {};
  return {
    name: b.name || "",
    runs,
    stats: { count: num(e.count) ?? runs.length, mean: num(e.mean), median: num(e.median), stdev: num(e.stdev), min: num(e.min), max: num(e.max), trend: num(e.trend_per_day) },
    best: b.best ? String(b.best.job) : "",
  };
}

export function benchmarks(r) {
  return (r.benchmarks || []).map((b) => ({ name: b.name || "", count: num(b.runs), median: num((b.energy_j || {}).median), last: num(b.last_start_epoch_s) }));
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
};
