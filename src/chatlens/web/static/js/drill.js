// Drill-down: every figure opens the conversations behind it. A link keeps the page's period
// and filters and adds what was clicked (a dimension value, a time bucket, a funnel stage).

// `base` with the parameters of `set` replaced and those of `extra` ([key, value] pairs) added.
export function drillUrl(base, extra = [], set = {}) {
  const url = new URL(base, window.location.origin);
  for (const [key, value] of Object.entries(set)) url.searchParams.set(key, value);
  for (const [key, value] of extra) url.searchParams.append(key, value);
  return url.pathname + url.search;
}

export function go(href) {
  window.location.href = href;
}

const pad = (n) => String(n).padStart(2, "0");
const day = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

// The period of the time bucket labelled `label` ("2026-11-02T00:00:00", local time), as the
// from/to of a report (both inclusive), clipped to the page's period {from, to}.
export function bucketRange(label, grain, period = {}) {
  if (grain === "hour") return { from: label.slice(0, 16), to: `${label.slice(0, 13)}:59:59.999999` };
  const first = new Date(`${label.slice(0, 10)}T00:00:00Z`);
  const last = new Date(first);
  if (grain === "week") last.setUTCDate(last.getUTCDate() + 6);
  else if (grain === "month") last.setUTCMonth(last.getUTCMonth() + 1, 0);
  else if (grain === "year") last.setUTCMonth(11, 31);
  let from = day(first);
  let to = day(last);
  if (period.from && from < period.from) from = period.from;
  if (period.to && (period.to.slice(0, 10) < to || (period.to.slice(0, 10) === to && period.to.length > 10))) to = period.to;
  return { from, to };
}

// A click anywhere over a category of a cartesian chart (not only on a thin line or a short
// bar) calls `handler` with the category's index.
export function onCategoryClick(chart, count, handler) {
  chart.getZr().on("click", (event) => {
    const point = [event.offsetX, event.offsetY];
    if (!chart.containPixel("grid", point)) return;
    const index = Math.round(chart.convertFromPixel({ seriesIndex: 0 }, point)[0]);
    if (index >= 0 && index < count) handler(index);
  });
  chart.getZr().on("mousemove", (event) => {
    const inside = chart.containPixel("grid", [event.offsetX, event.offsetY]);
    chart.getZr().setCursorStyle(inside ? "pointer" : "default");
  });
}
