import * as api from "./report?asset=api.js";
import { h, page, table, card, badge } from "./report?asset=dom.js";
import { benchmark, benchmarks, fmt, regressionText } from "./report?asset=model.js";
import { plot, bandHook, histogram, PALETTE, REGRESSION } from "./report?asset=charts.js";

export async function benchmarksPage() {
  const list = benchmarks(await api.getJSON("/results/benchmarks"));
  page("Benchmarks", table([
    { label: "Benchmark", cell: (b) => h("a", { href: "#/benchmark/" + encodeURIComponent(b.name) }, b.name) },
    { label: "Runs", num: true, cell: (b) => b.count ?? "–" },
    { label: "Median energy", num: true, cell: (b) => fmt.energy(b.median) },
    { label: "Last run", cell: (b) => fmt.date(b.last) },
  ], list, { label: "Benchmarks" }));
}

export async function benchmarkPage(name) {
  const b = benchmark(await api.getJSON(`/results/benchmarks/${encodeURIComponent(name)}`));
  const runs = b.runs.filter((r) => r.start != null).sort((x, y) => x.start - y.start);
  const regressed = (r) => !!regressionText(r.regression);
  const fig = h("figure", { class: "plot", id: "plot-runs" }, h("figcaption", {}, "Energy per run over time; the band is each run's baseline (median of the previous runs ± 3 scaled MADs), red points are regressions"));
  const hist = h("canvas", { class: "hist", id: "hist", role: "img", "aria-label": "Distribution of energy per run" });
  const best = b.best;
  page("Benchmark " + (b.name || name),
    h("div", { class: "cards" },
      card("Runs", String(b.stats.count ?? runs.length)), card("Median", fmt.energy(b.stats.median)), card("Mean", fmt.energy(b.stats.mean)),
      card("Std dev", fmt.energy(b.stats.stdev)), card("Min", fmt.energy(b.stats.min)), card("Max", fmt.energy(b.stats.max)),
      card("Best run", best || "–"), card("Trend", b.stats.trend == null ? "–" : fmt.energy(b.stats.trend) + "/day"), card("Regressions", String(runs.filter(regressed).length))),
    h("h2", {}, "Runs over time"), fig,
    h("h2", {}, "Distribution of energy per run"), h("figure", { class: "plot" }, hist),
    h("h2", {}, "Runs"),
    table([
      { label: "Job", cell: (r) => h("a", { href: "#/job/" + encodeURIComponent(r.id) }, r.id) },
      { label: "Date", cell: (r) => fmt.date(r.start) },
      { label: "Energy", num: true, cell: (r) => fmt.energy(r.energy) },
      { label: "Time", num: true, cell: (r) => fmt.time(r.wall) },
      { label: "EDP", num: true, cell: (r) => fmt.edp(r.edp) },
      { label: "Flag", cell: (r) => (regressed(r) ? badge("regression " + regressionText(r.regression), "bad") : "") },
    ], runs.slice().reverse(), { label: "Runs" }));
  const t = runs.map((r) => r.start);
  const kj = (v) => (v == null ? null : v / 1000);
  const u = plot(fig, t, [
    { label: "energy (kJ)", color: PALETTE[0], values: runs.map((r) => (regressed(r) ? null : kj(r.energy))) },
    { label: "regression", color: REGRESSION, values: runs.map((r) => (regressed(r) ? kj(r.energy) : null)) },
  ], { unit: "kJ", points: 7, hooks: { drawClear: bandHook(t, runs.map((r) => kj(r.low)), runs.map((r) => kj(r.high))) } });
  const hh = histogram(hist, runs.map((r) => r.energy), { fmt: fmt.energy });
  return () => { u.dispose(); hh.dispose(); };
}
