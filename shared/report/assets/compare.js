import * as api from "./report?asset=api.js";
import { h, page, table, say } from "./report?asset=dom.js";
import { job, jobDetail, jobsPage as parseJobs, series as parseSeries, sumLines, fmt } from "./report?asset=model.js";
import { plot, PALETTE } from "./report?asset=charts.js";
import { seriesPath } from "./report?asset=job.js";

const METRICS = [
  ["Energy", "energy", fmt.energy], ["Wall time", "wall", fmt.time], ["Average power", "avgPower", fmt.power],
  ["Peak power", "peakPower", fmt.power], ["EDP", "edp", fmt.edp], ["Cost", "cost", fmt.cost], ["CO2", "co2", fmt.co2],
];

export async function comparePage(ids) {
  ids = [...new Set(ids)].slice(0, 4);
  const picker = await pickerFor(ids);
  if (ids.length < 2) {
    page("Compare jobs", h("p", {}, "Pick 2 to 4 jobs. The first is the reference for the ratios."), picker);
    return;
  }
  const r = await api.getJSON("/results/compare" + api.qs({ jobs: ids.join(",") }));
  const jobs = (r.jobs || []).map(job);
  const ref = jobs[0];
  const ratio = (j, k) => (ref && ref[k] && j[k] != null ? (j[k] / ref[k]).toFixed(2) + "×" : "–");
  const cols = [{ label: "Metric", cell: (m) => m[0] }].concat(jobs.flatMap((j, i) => [
    { label: "Job " + j.id, num: true, cell: (m) => m[2](j[m[1]]) },
    ...(i > 0 ? [{ label: "ratio", num: true, cell: (m) => ratio(j, m[1]) }] : []),
  ]));
  const fig = h("figure", { class: "plot", id: "plot-compare" }, h("figcaption", {}, "Total power, aligned at each job's start"));
  page("Compare " + jobs.map((j) => j.id).join(" · "),
    h("p", { class: "muted" }, jobs.map((j, i) => [i ? ", " : "", h("a", { href: "#/job/" + encodeURIComponent(j.id) }, j.id), j.benchmark ? ` (${j.benchmark})` : ""])),
    table(cols, METRICS, { label: "Side by side" }),
    h("h2", {}, "Power over time"), fig,
    h("h2", {}, "Change the selection"), picker);

  // Each job's summed power against seconds since its own start, joined
  // onto one x axis.
  const tables = await Promise.all(jobs.map(async (j) => {
    const [d, raw] = await Promise.all([api.getJSON(`/results/jobs/${encodeURIComponent(j.id)}`), api.getJSON(seriesPath(j.id, "power"))]);
    const steps = jobDetail(d).inTotal;
    const s = parseSeries(raw);
    const p = sumLines(s.lines.filter((l) => l.power && (!steps.size || steps.has(l.step))).map((l) => l.power), s.t.length);
    const t0 = s.t[0] ?? 0;
    return [s.t.map((t) => t - t0), p];
  }));
  const joined = uPlot.join(tables);
  const u = plot(fig, joined[0], jobs.map((j, i) => ({ label: j.id, color: PALETTE[i], values: joined[i + 1] })), { unit: "W", x: "num", xLabel: "s since start" });
  say("");
  return () => u.dispose();
}

async function pickerFor(ids) {
  let list = [];
  try { list = parseJobs(await api.getJSON("/results/jobs" + api.qs({ limit: 500 }))).jobs; } catch { /* the picker stays empty */ }
  const boxes = list.map((j) => h("label", { class: "pick" }, h("input", { type: "checkbox", value: j.id, checked: ids.includes(j.id) }), ` ${j.id} ${j.benchmark ? "· " + j.benchmark : ""} · ${fmt.energy(j.energy)}`));
  const go = h("button", { type: "submit", class: "primary" }, "Compare");
  return h("form", { id: "compare-pick", onsubmit: (e) => {
    e.preventDefault();
    const sel = [...e.target.querySelectorAll("input:checked")].map((x) => x.value);
    if (sel.length < 2 || sel.length > 4) { say("Pick 2 to 4 jobs.", true); return; }
    // Keep the current reference first.
    sel.sort((a, b) => (b === ids[0]) - (a === ids[0]));
    location.hash = "#/compare?jobs=" + sel.map(encodeURIComponent).join(",");
  } }, h("fieldset", {}, h("legend", {}, "Jobs"), h("div", { class: "picks" }, boxes.length ? boxes.map((b) => h("div", {}, b)) : "No jobs.")), go);
}
