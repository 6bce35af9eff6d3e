// The agent performance report (agent, team and teams pages): one ECharts chart per metric over
// the chosen grain, one line per team on the teams page. Values are formatted as the tables
// format them (format.js); a click on a bucket of an agent or team chart opens its conversations.
import { bucketRange, drillUrl, go, onCategoryClick } from "/static/js/drill.js";
import { human } from "/static/js/format.js";

const data = JSON.parse(document.getElementById("chart-data").textContent);
const charts = [];
const period = data.drill ? Object.fromEntries(new URL(data.drill, window.location.origin).searchParams) : {};

for (const node of document.querySelectorAll(".report-charts .chart")) {
  const id = node.dataset.metric;
  const meta = data.metrics[id];
  const lines = Object.entries(data.lines[id] || {});
  const single = lines.length === 1 && lines[0][0] === "";
  const chart = echarts.init(node, null, { renderer: "canvas" });
  const format = (v) => human(v, meta.unit);
  const empty = lines.every(([, values]) => values.every((v) => v === null));
  chart.setOption({
    // a chart with no value at all says so (utilization, say, is defined per agent only)
    graphic: empty ? [{ type: "text", left: "center", top: "middle",
      style: { text: meta.empty || "no data in this period", fill: "#6b7280", fontSize: 13 } }] : [],
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: format },
    legend: single ? { show: false } : { top: 0, type: "scroll" },
    grid: { left: 56, right: 12, top: single ? 12 : 32, bottom: 28 },
    xAxis: { type: "category", data: data.buckets },
    yAxis: { type: "value", minInterval: meta.unit === "count" ? 1 : 0, axisLabel: { formatter: format } },
    series: lines.map(([name, values]) => ({
      name: single ? meta.label : name, type: data.buckets.length > 1 ? "line" : "bar",
      connectNulls: false, showSymbol: true, data: values,
    })),
  });
  if (data.drill) onCategoryClick(chart, data.buckets.length, (i) =>
    go(drillUrl(data.drill, [], bucketRange(data.buckets[i], data.grain, period))));
  node.dataset.ready = "1";
  charts.push(chart);
}

window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

const range = document.getElementById("range");
document.querySelectorAll('.controls input[type="date"]').forEach((input) =>
  input.addEventListener("change", () => { range.value = "custom"; }));
