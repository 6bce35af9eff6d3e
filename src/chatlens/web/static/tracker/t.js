/* chatlens website tracker (docs/connections.md, "Website tracker").
   <script async src="https://HOST/t.js" data-key="SITE_KEY"></script>
   Sends visit_started once per visit (30 min without activity ends one), page_view on load
   and on history changes, and conversation_started when the page calls
   window.chatlens && chatlens.widgetOpened(). Batched, sent with navigator.sendBeacon
   (fetch keepalive when a beacon is refused). No cookie is read but its own. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || (window.chatlens && window.chatlens.tracking)) return;
  var key = me.getAttribute("data-key");
  if (!key) return;
  var url = new URL(me.src).origin + "/api/v1/track/" + encodeURIComponent(key);
  var VISIT_MS = 30 * 60 * 1000, YEAR_S = 400 * 24 * 3600, BATCH = 20, WAIT_MS = 1000;
  var queue = [], timer = 0, memory = {}, lastPage = "";

  function newId() {
    var bytes = new Uint8Array(12), out = "";
    crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] % 36).toString(36);
    return out + Date.now().toString(36);
  }
  function cookie(name, value) {
    try {
      if (value === undefined) {
        var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
        return m ? decodeURIComponent(m[1]) : null;
      }
      document.cookie = name + "=" + encodeURIComponent(value) + "; max-age=" + YEAR_S +
        "; path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* cookies off */ }
    return null;
  }
  function get(name) {
    try { var v = localStorage.getItem(name); if (v) return v; } catch (e) { /* private mode */ }
    return cookie(name) || memory[name] || null;
  }
  function put(name, value) {
    memory[name] = value;
    try { localStorage.setItem(name, value); return; } catch (e) { /* fall back */ }
    cookie(name, value);
  }

  var visitor = get("chatlens_vid");
  if (!visitor) { visitor = newId(); put("chatlens_vid", visitor); }
  if (!cookie("chatlens_vid")) cookie("chatlens_vid", visitor);

  function visit() {
    /* the visit id, starting a new visit after 30 minutes without activity */
    var now = Date.now(), kept = (get("chatlens_visit") || "").split(".");
    var id = kept[0], seen = parseInt(kept[1], 10) || 0;
    var fresh = !id || now - seen > VISIT_MS;
    if (fresh) id = newId();
    put("chatlens_visit", id + "." + now);
    if (fresh) add("visit_started", id);
    return id;
  }
  function add(type, session, extra) {
    var event = { id: newId(), type: type, ts: Date.now(), customer_id: visitor,
                  session_id: session, page_url: location.href };
    for (var k in extra || {}) event[k] = extra[k];
    queue.push(event);
    if (queue.length >= BATCH) flush();
    else if (!timer) timer = setTimeout(flush, WAIT_MS);
  }
  function flush() {
    clearTimeout(timer); timer = 0;
    while (queue.length) {
      var batch = queue.splice(0, BATCH);
      var body = JSON.stringify({ sent: Date.now(), events: batch });
      /* text/plain: a simple request, no preflight; the server reads it as JSON */
      var sent = false;
      try { sent = navigator.sendBeacon(url, new Blob([body], { type: "text/plain" })); }
      catch (e) { sent = false; }
      if (!sent && window.fetch) send(batch, body);
    }
  }
  function send(batch, body) {
    /* fetch keepalive; a batch it could not deliver is kept for the next page, with the
       same ids (the server counts a resent event once) */
    fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit",
                 headers: { "Content-Type": "text/plain" } })
      .then(function (r) { if (r.status >= 500 || r.status === 429) throw r; })
      .catch(function () {
        var kept = [];
        try { kept = JSON.parse(get("chatlens_unsent") || "[]"); } catch (e) { kept = []; }
        put("chatlens_unsent", JSON.stringify(kept.concat(batch).slice(-BATCH * 5)));
      });
  }
  function page() {
    var here = location.href.split("#")[0];
    if (here === lastPage) return;
    lastPage = here;
    var session = visit();
    add("page_view", session);
  }

  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var out = original.apply(this, arguments);
      page();
      return out;
    };
  });
  addEventListener("popstate", page);
  addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });

  var unsent = get("chatlens_unsent");
  if (unsent) {
    put("chatlens_unsent", "");
    try { queue = JSON.parse(unsent) || []; } catch (e) { queue = []; }
  }

  var api = window.chatlens || {};
  api.tracking = true;
  /* Call when the page's chat widget opens: counts a conversation started by this visitor
     (conversationId: the widget's own id for it, if it has one: 8-64 of A-Z a-z 0-9 - _). */
  api.widgetOpened = function (conversationId) {
    var extra = conversationId ? { conversation_id: String(conversationId) } : {};
    add("conversation_started", visit(), extra);
    flush();
  };
  api.flush = flush;
  window.chatlens = api;
  page();
})();
