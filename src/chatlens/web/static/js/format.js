// Numbers for people, as chatlens.reports.format.human does on the server:
// 1m 05s, 87.5 %, 1.2k; "-" for no data.
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function duration(seconds) {
  const sign = seconds < 0 ? "-" : "";
  let s = Math.abs(seconds);
  if (s < 60) return `${sign}${s < 10 ? s.toFixed(1) : s.toFixed(0)}s`;
  s = Math.round(s);
  let minutes = Math.floor(s / 60);
  const secs = s % 60;
  if (minutes < 60) return `${sign}${minutes}m ${String(secs).padStart(2, "0")}s`;
  let hours = Math.floor(minutes / 60);
  minutes %= 60;
  if (hours < 48) return `${sign}${hours}h ${String(minutes).padStart(2, "0")}m`;
  const days = Math.floor(hours / 24);
  hours %= 24;
  return `${sign}${days}d ${String(hours).padStart(2, "0")}h`;
}

export function compact(number) {
  const value = Math.abs(number);
  for (const [limit, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (value >= limit * 10) return `${(number / limit).toFixed(0)}${suffix}`;
    if (value >= limit) return `${(number / limit).toFixed(1)}${suffix}`;
  }
  return Number.isInteger(number) ? number.toFixed(0) : number.toFixed(2);
}

export function human(value, unit) {
  if (value === null || value === undefined) return "-";
  switch (unit) {
    case "rate": return `${(value * 100).toFixed(1)} %`;
    case "seconds": return duration(value);
    case "hour": return `${String(Math.trunc(value)).padStart(2, "0")}:00`;
    case "weekday": return WEEKDAYS[Math.trunc(value)];
    case "score": case "ratio": case "per_hour": return value.toFixed(2);
    case "percent_points": return `${value >= 0 ? "+" : "-"}${Math.abs(value).toFixed(1)} pp`;
    case "nps": return value.toFixed(0);
    case "money": return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    default: return compact(value);
  }
}
