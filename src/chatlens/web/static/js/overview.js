// Page charts (overview, report pages, agent report): ECharts (vendored, global `echarts`) over
// the JSON the page embeds. Clicking a day, slice, cell, funnel stage or bar opens the
// conversations behind it.
import { bucketRange, drillUrl, go, onCategoryClick } from "/static/js/drill.js";

const data = JSON.parse(document.getElementById("chart-data").textContent);
const charts = [];

function chart(id, option, onClick) {
  const node = document.getElementById(id);
  if (!node) return null;
  const instance = echarts.init(node, null, { renderer: "canvas" });
  instance.setOption({ animation: false, ...option });
  if (onClick) instance.on("click", onClick);
  charts.push(instance);
  node.dataset.ready = "1";
  return instance;
}

function drill(extra, set = {}) {
  go(drillUrl(data.drill, extra, set));
}

const series = chart("series", {
  tooltip: { trigger: "axis" },
  legend: { top: 0 },
  grid: { left: 40, right: 10, top: 30, bottom: 30 },
  xAxis: { type: "category", data: data.series.buckets },
  yAxis: { type: "value", minInterval: 1 },
  series: Object.entries(data.series.lines).map(([id, values]) => ({
    name: data.series.labels[id], type: "line", showSymbol: false, data: values,
  })),
});
const period = Object.fromEntries(new URL(data.drill, window.location.origin).searchParams);
if (series) onCategoryClick(series, data.series.buckets.length, (i) =>
  drill([], bucketRange(data.series.buckets[i], data.grain, period)));

chart("mix", {
  tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
  series: [{ type: "pie", radius: ["35%", "65%"], data: data.mix }],
}, (p) => drill([["filter", `channel=${p.name}`]]));

const maxHeat = Math.max(1, ...(data.heat || []).map((c) => c[2]));
chart("heat", {
  tooltip: { position: "top" },
  grid: { left: 40, right: 10, top: 10, bottom: 60 },
  xAxis: { type: "category", data: [...Array(24).keys()].map((h) => `${h}`.padStart(2, "0")) },
  yAxis: { type: "category", data: data.weekdays },
  visualMap: { min: 0, max: maxHeat, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
  series: [{ type: "heatmap", data: data.heat }],
}, (p) => drill([["filter", `weekday=${p.value[1]}`], ["filter", `hour_of_day=${p.value[0]}`]]));

// each stage carries the URL of its conversations (the server knows which metric counts them)
chart("funnel", {
  tooltip: { trigger: "item", formatter: "{b}: {c}" },
  series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", data: data.funnel, label: { formatter: "{b}: {c}" } }],
}, (p) => p.data && p.data.url && go(p.data.url));

// bars whose items carry their URL (the CSAT distribution, the NPS split)
for (const id of ["csat", "nps"]) {
  const items = data[id];
  if (!items) continue;
  const bars = chart(id, {
    tooltip: { trigger: "axis" },
    grid: { left: 40, right: 10, top: 10, bottom: 30 },
    xAxis: { type: "category", data: items.map((b) => b.name) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: items.map((b) => b.value) }],
  });
  if (bars) onCategoryClick(bars, items.length, (i) => go(items[i].url));
}

window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

// presets fill the dates; editing a date switches to a custom range
const range = document.getElementById("range");
document.querySelectorAll('.controls input[type="date"]').forEach((input) =>
  input.addEventListener("change", () => { range.value = "custom"; }));
