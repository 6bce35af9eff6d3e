// A user's dashboard: widgets drawn from /api/v1/query; the owner adds, removes, reorders
// and resizes them and saves the layout with PUT /api/v1/dashboards/{id}. A widget shows that
// it is loading (aria-busy), then its chart or why it could not load; clicking a tile, bar,
// point, cell or row opens the conversations behind it.
// Untrusted values (dimension values come from events) are only ever set as textContent.
import { bucketRange, drillUrl, go, onCategoryClick } from "/static/js/drill.js";
import { human } from "/static/js/format.js";

const page = JSON.parse(document.getElementById("page-data").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const widgets = page.board.widgets.map((w) => ({ ...w }));
const root = document.getElementById("widgets");
let charts = [];

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

// The conversations behind a widget: the page's period, the page's filters overridden by the
// widget's, only those the metric counts (a count such as missed chats), plus `extra` filters
// and `set` parameters (a time bucket's from/to).
function widgetUrl(widget, extra = [], set = {}) {
  const filters = { ...page.filters, ...widget.filters };
  const params = [["from", page.period.from], ["to", page.period.to]];
  for (const [key, values] of Object.entries(filters)) for (const v of values) params.push(["filter", `${key}=${v}`]);
  if (page.catalogue[widget.metric].counts) params.push(["counted", widget.metric]);
  return drillUrl(drillUrl("/conversations", params), extra, set);
}

// what a row of the answer narrows the list to, or null when it cannot (a null value, a
// ticket dimension)
function rowDrill(widget, row) {
  if (widget.dimension) {
    const value = row[widget.dimension];
    if (value === null || value === undefined || !page.drillable.includes(widget.dimension)) return null;
    return widgetUrl(widget, [["filter", `${widget.dimension}=${value}`]]);
  }
  if (row.bucket) return widgetUrl(widget, [], bucketRange(row.bucket, page.period.every || "day", page.period));
  return widgetUrl(widget);
}

async function query(widget) {
  const body = {
    metrics: [widget.metric], from: page.period.from, to: page.period.to,
    filters: { ...page.filters, ...widget.filters },
  };
  if (widget.chart === "line") body.every = page.period.every || "day";
  if (widget.chart === "heatmap") body.by = ["weekday", "hour_of_day"];
  else if (widget.dimension && ["bar", "table"].includes(widget.chart)) body.by = [widget.dimension];
  else if (widget.chart === "bar") body.every = page.period.every || "day";
  if (widget.chart === "tile") body.compare = true;
  let answer;
  try {
    answer = await fetch("/api/v1/query", {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error("the server could not be reached");
  }
  let data = null;
  try { data = await answer.json(); } catch { /* not JSON: a proxy's error page */ }
  if (!answer.ok || !data) throw new Error(data?.error?.message || `the server answered ${answer.status}`);
  return data.rows;
}

function draw(widget, box, rows) {
  const meta = page.catalogue[widget.metric];
  const value = (r) => r[widget.metric];
  const hasData = rows.some((r) => value(r) !== null && value(r) !== undefined);
  if (!hasData) { box.append(el("p", { class: "empty" }, "no data in this period")); return; }
  if (widget.chart === "tile") {
    const row = rows[0];
    const link = el("a", { href: widgetUrl(widget), "aria-label": `${meta.label}: ${human(value(row), meta.unit)}, open the conversations` }, human(value(row), meta.unit));
    const shown = el("p", { class: "value" });
    shown.append(link);
    box.append(shown);
    const change = row[`${widget.metric}__change`];
    if (change !== null && change !== undefined) {
      const worse = change !== 0 && (change > 0) === meta.bad;
      const sign = change >= 0 ? "+" : "-";
      const size = Math.abs(change);
      const text = meta.unit === "rate" ? `${(size * 100).toFixed(1)} pp` : human(size, meta.unit);
      box.append(el("p", { class: `change ${worse ? "worse" : "better"}` }, `${sign}${text} vs previous`));
    }
    // the benchmark band and the goal, as on the report pages' tiles
    const band = row[`${widget.metric}__band`];
    if (band) box.append(el("p", { class: "band" }, band));
    const goal = row[`${widget.metric}__goal`];
    if (goal && goal.status) {
      const progress = goal.progress === null ? "" : ` · ${Math.round(goal.progress * 100)} % of the way`;
      box.append(el("p", { class: `goal ${goal.status === "met" ? "better" : "worse"}` }, `goal ${goal.status}${progress}`));
    }
    return;
  }
  if (widget.chart === "table") {
    const table = el("table");
    const head = el("tr");
    head.append(el("th", { scope: "col" }, widget.dimension || "period"), el("th", { scope: "col" }, meta.label));
    table.append(head);
    for (const r of rows) {
      const tr = el("tr");
      const name = el("td");
      const label = widget.dimension ? String(r[widget.dimension] ?? "none")
        : r.bucket ? r.bucket.slice(0, page.period.every === "hour" ? 16 : 10) : "all";
      const href = rowDrill(widget, r);
      if (href) name.append(el("a", { href }, label)); else name.textContent = label;
      tr.append(name, el("td", {}, human(value(r), meta.unit)));
      table.append(tr);
    }
    const scroll = el("div", { class: "scroll" });
    scroll.append(table);
    box.append(scroll);
    return;
  }
  const node = el("div", { class: "chart", role: "img", "aria-label": `${meta.label} (${widget.chart})` });
  box.append(node);
  // the keyboard's way in (the chart itself is a canvas)
  const way = el("p", { class: "drill" });
  way.append(el("a", { href: widgetUrl(widget) }, "Open the conversations"));
  box.append(way);
  const chart = echarts.init(node);
  const fmt = (v) => human(v, meta.unit);
  let option;
  if (widget.chart === "line" || (widget.chart === "bar" && !widget.dimension)) {
    option = {
      tooltip: { trigger: "axis", valueFormatter: fmt }, grid: { left: 50, right: 10, top: 10, bottom: 30 },
      xAxis: { type: "category", data: rows.map((r) => r.bucket.slice(0, 10)) },
      yAxis: { type: "value", axisLabel: { formatter: fmt } },
      series: [{ type: widget.chart, data: rows.map(value), showSymbol: false }],
    };
  } else if (widget.chart === "bar") {
    option = {
      tooltip: { trigger: "axis", valueFormatter: fmt }, grid: { left: 50, right: 10, top: 10, bottom: 30 },
      xAxis: { type: "category", data: rows.map((r) => String(r[widget.dimension] ?? "none")) },
      yAxis: { type: "value", axisLabel: { formatter: fmt } },
      series: [{ type: "bar", data: rows.map(value) }],
    };
  } else if (widget.chart === "heatmap") {
    const cells = rows.map((r) => [r.hour_of_day, r.weekday, value(r)]);
    option = {
      tooltip: { valueFormatter: fmt }, grid: { left: 40, right: 10, top: 10, bottom: 50 },
      xAxis: { type: "category", data: [...Array(24).keys()].map(String) },
      yAxis: { type: "category", data: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] },
      visualMap: { min: 0, max: Math.max(1, ...cells.map((c) => c[2] || 0)), orient: "horizontal", left: "center", bottom: 0 },
      series: [{ type: "heatmap", data: cells }],
    };
  } else {
    const goal = page.goals[widget.metric] || {};
    const target = goal.min ?? goal.max;
    const current = value(rows[0]);
    const max = meta.unit === "rate" ? 1 : Math.max(current, target ?? current) * 1.5 || 1;
    option = {
      series: [{
        type: "gauge", min: 0, max, detail: { formatter: fmt, fontSize: 16 },
        axisLabel: { formatter: fmt, fontSize: 9 }, data: [{ value: current, name: target !== undefined ? `goal ${fmt(target)}` : "" }],
      }],
    };
  }
  chart.setOption({ animation: false, ...option });
  charts.push(chart);
  if (widget.chart === "heatmap") {
    chart.on("click", (p) => go(widgetUrl(widget, [["filter", `weekday=${p.value[1]}`], ["filter", `hour_of_day=${p.value[0]}`]])));
  } else if (widget.chart === "gauge") {
    chart.on("click", () => go(widgetUrl(widget)));
  } else {
    onCategoryClick(chart, rows.length, (i) => { const href = rowDrill(widget, rows[i]); if (href) go(href); });
  }
}

// Loading (aria-busy, a visible indicator), then the chart, or why it failed and a retry.
function load(widget, card, box) {
  card.dataset.ready = "0";
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(el("p", { class: "loading", role: "status" }, "Loading…"));
  query(widget)
    .then((rows) => { box.replaceChildren(); draw(widget, box, rows); })
    .catch((error) => {
      const retry = el("button", { type: "button" }, "Retry");
      retry.onclick = () => load(widget, card, box);
      box.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not load this widget: ${error.message}`), retry);
    })
    .finally(() => { box.setAttribute("aria-busy", "false"); card.dataset.ready = "1"; });
}

function render() {
  charts.forEach((c) => c.dispose());
  charts = [];
  root.replaceChildren();
  if (!widgets.length) root.append(el("p", { class: "empty" }, "This dashboard has no widgets yet: add one above."));
  widgets.forEach((widget, index) => {
    const meta = page.catalogue[widget.metric];
    const card = el("article", { class: `widget size-${widget.size}`, "data-widget": String(index), "data-metric": widget.metric });
    const title = el("h2", {}, meta.label);
    title.append(el("small", {}, ` · ${widget.chart}${widget.dimension ? ` by ${widget.dimension}` : ""}`));
    card.append(title);
    if (page.editable) {
      const tools = el("div", { class: "tools" });
      const left = el("button", { type: "button", "aria-label": `Move ${meta.label} earlier` }, "←");
      const right = el("button", { type: "button", "aria-label": `Move ${meta.label} later` }, "→");
      const size = el("select", { "aria-label": `Width of ${meta.label}` });
      for (const n of [1, 2, 3]) { const o = el("option", { value: String(n) }, `width ${n}`); if (n === widget.size) o.selected = true; size.append(o); }
      const remove = el("button", { type: "button", "aria-label": `Remove ${meta.label}` }, "Remove");
      left.onclick = () => { if (index > 0) { [widgets[index - 1], widgets[index]] = [widgets[index], widgets[index - 1]]; render(); } };
      right.onclick = () => { if (index < widgets.length - 1) { [widgets[index + 1], widgets[index]] = [widgets[index], widgets[index + 1]]; render(); } };
      size.onchange = () => { widget.size = Number(size.value); render(); };
      remove.onclick = () => { widgets.splice(index, 1); render(); };
      tools.append(left, right, size, remove);
      card.append(tools);
    }
    const box = el("div", { class: "body" });
    card.append(box);
    root.append(card);
    load(widget, card, box);
  });
}

if (page.editable) {
  document.getElementById("add-widget").addEventListener("submit", (event) => {
    event.preventDefault();
    const dimension = document.getElementById("w-dimension").value || null;
    widgets.push({
      metric: document.getElementById("w-metric").value, chart: document.getElementById("w-chart").value,
      dimension, filters: {}, size: 1,
    });
    render();
  });
  document.getElementById("save").addEventListener("click", async () => {
    const state = document.getElementById("save-state");
    // "" (only me), "workspace" or "team:NAME"
    const share = document.getElementById("b-share")?.value || "";
    const team = share.startsWith("team:") ? share.slice(5) : null;
    const answer = await fetch(`/api/v1/dashboards/${page.board.id}`, {
      method: "PUT", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({ name: document.getElementById("b-name").value, shared: share === "workspace", team, widgets }),
    });
    state.textContent = answer.ok ? "Saved." : `Not saved: ${(await answer.json()).error.message}`;
  });
}

window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
render();
