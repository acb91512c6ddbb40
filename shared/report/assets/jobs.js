import * as api from "./report?asset=api.js";
import { h, page, badge, statusBadge, fail, say } from "./report?asset=dom.js";
import { jobsPage as parse, benchmark, fmt, regressionText } from "./report?asset=model.js";

const COLS = [
  { key: "id", label: "Job", cell: (j) => h("a", { href: "#/job/" + encodeURIComponent(j.id) }, j.id) },
  { key: "benchmark", label: "Benchmark", cell: (j) => j.benchmark ? h("a", { href: "#/benchmark/" + encodeURIComponent(j.benchmark) }, j.benchmark) : "–" },
  { key: "start", label: "Date", cell: (j) => fmt.date(j.start) },
  { key: "energy", label: "Energy", num: true, cell: (j) => fmt.energy(j.energy) },
  { key: "wall", label: "Time", num: true, cell: (j) => fmt.time(j.wall) },
  { key: "avgPower", label: "Avg power", num: true, cell: (j) => fmt.power(j.avgPower) },
  { key: "cost", label: "Cost", num: true, cell: (j) => fmt.cost(j.cost) },
  { key: "co2", label: "CO2", num: true, cell: (j) => fmt.co2(j.co2) },
  { key: "flags", label: "Flags", cell: flagCell, sortable: false },
  { key: "status", label: "Status", cell: (j) => [statusBadge(j.busy ? "running" : j.status), j.busy ? ` ${j.filesDone}/${j.files}` : ""] },
];

function flagCell(j) {
  const out = j.flags.map((f) => badge(f, "warn"));
  const r = regressionText(j.regression);
  if (r) out.unshift(badge("regression " + r, "bad"));
  return out.length ? out : "";
}


export async function jobsPage() {
  let rows = [], next = "", sort = { key: "start", dir: -1 };
  const picked = new Set();
  const bench = h("input", { id: "f-bench", type: "search", placeholder: "any" });
  const since = h("input", { id: "f-since", type: "date" });
  const until = h("input", { id: "f-until", type: "date" });
  const text = h("input", { id: "f-text", type: "search", placeholder: "job, label, flag" });
  const compare = h("button", { type: "button", id: "compare-selected", disabled: true, onclick: () => { location.hash = "#/compare?jobs=" + [...picked].map(encodeURIComponent).join(","); } }, "Compare selected");
  const more = h("button", { type: "button", hidden: true, onclick: () => load(true) }, "Load more");
  const tbody = h("tbody");
  const headRow = h("tr", {}, h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Select")));
  const ths = {};
  for (const c of COLS) {
    const th = h("th", { scope: "col", class: c.num ? "num" : "" });
    if (c.sortable === false) th.append(c.label);
    else th.append(h("button", { type: "button", "data-sort": c.key, onclick: () => { sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : (c.num || c.key === "start" ? -1 : 1) }; render(); } }, c.label));
    ths[c.key] = th;
    headRow.append(th);
  }
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); load(false); } },
    h("label", { for: "f-bench" }, "Benchmark", bench),
    h("label", { for: "f-since" }, "Since", since),
    h("label", { for: "f-until" }, "Until", until),
    h("button", { type: "submit" }, "Apply"),
    h("label", { for: "f-text" }, "Filter shown", text));
  text.addEventListener("input", () => render());

  page("Jobs", form,
    h("div", { class: "actions" }, compare, h("span", { class: "muted", id: "pick-hint" }, "Select 2–4 jobs to compare them.")),
    h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Jobs" }, h("table", { id: "jobs" }, h("thead", {}, headRow), tbody)),
    h("div", { class: "actions" }, more));

  function render() {
    const needle = text.value.trim().toLowerCase();
    const shown = rows.filter((j) => !needle || [j.id, j.label, j.benchmark, j.status, ...j.flags].join(" ").toLowerCase().includes(needle));
    const k = sort.key;
    shown.sort((a, b) => {
      const x = a[k], y = b[k];
      if (x == null && y == null) return 0;
      if (x == null) return 1;
      if (y == null) return -1;
      return (typeof x === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * sort.dir;
    });
    for (const [key, th] of Object.entries(ths)) {
      if (key === k) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    tbody.replaceChildren(...shown.map((j) => h("tr", { "data-job": j.id },
      h("td", {}, h("input", { type: "checkbox", "aria-label": "Select job " + j.id, checked: picked.has(j.id), onchange: (e) => {
        if (e.target.checked) picked.add(j.id); else picked.delete(j.id);
        compare.disabled = picked.size < 2 || picked.size > 4;
      } })),
      COLS.map((c) => h("td", { class: c.num ? "num" : "" }, c.cell(j))))));
    if (!shown.length) tbody.append(h("tr", {}, h("td", { colspan: COLS.length + 1, class: "muted" }, rows.length ? "No job matches the filter." : "No jobs yet: upload a profile.")));
  }

  async function load(append) {
    try {
      const day = (v, end) => v ? new Date(v + (end ? "T23:59:59Z" : "T00:00:00Z")).toISOString() : "";
      const p = parse(await api.getJSON("/results/jobs" + api.qs({ benchmark: bench.value.trim(), since: day(since.value), until: day(until.value, true), limit: 500, cursor: append ? next : "" })));
      rows = append ? rows.concat(p.jobs) : p.jobs;
      next = p.next;
      more.hidden = !next;
      render();
      await regressions();
      say(rows.some((j) => j.busy) ? "Some files are still being analysed; this table updates by itself." : "");
    } catch (e) { fail(e); }
  }

  // The regression verdicts come with each benchmark's runs: one request
  // per benchmark shown, then the badges.
  const verdicts = new Map();
  async function regressions() {
    const names = [...new Set(rows.map((j) => j.benchmark).filter(Boolean))].filter((n) => !verdicts.has(n));
    await Promise.all(names.map(async (n) => {
      try { verdicts.set(n, new Map(benchmark(await api.getJSON(`/results/benchmarks/${encodeURIComponent(n)}`)).runs.map((r) => [r.id, r.regression]))); } catch { verdicts.set(n, new Map()); }
    }));
    let changed = false;
    for (const j of rows) {
      const r = verdicts.get(j.benchmark)?.get(j.id);
      if (r && r !== j.regression) { j.regression = r; changed = true; }
    }
    if (changed) render();
  }

  // Live status: poll while anything is queued or running.
  let stopped = false;
  const timer = setInterval(() => { if (!stopped && rows.some((j) => j.busy)) load(false); }, 3000);
  await load(false);
  return () => { stopped = true; clearInterval(timer); };
}
