// The live view: polls /api/v1/live every 5 s and fills the tiles (textContent only).
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

async function refresh() {
  try {
    const answer = await fetch("/api/v1/live", { credentials: "same-origin" });
    if (!answer.ok) throw new Error((await answer.json()).error.message);
    const now = await answer.json();
    for (const tile of document.querySelectorAll("[data-live]")) {
      const value = now[tile.dataset.live];
      tile.querySelector(".value").textContent =
        tile.dataset.unit === "seconds" ? duration(value) : String(value ?? "-");
    }
    document.getElementById("as-of").textContent =
      `as of ${new Date(now.as_of).toLocaleTimeString()}`;
  } catch (error) {
    document.getElementById("as-of").textContent = `could not refresh: ${error.message}`;
  } finally {
    document.getElementById("now").setAttribute("aria-busy", "false");
    document.getElementById("as-of").classList.remove("loading");
  }
}

refresh();
setInterval(refresh, 5000);
