// Incident console: polls the responder API and renders the incident list and one incident's timeline.
// Plain DOM (textContent only, never innerHTML), no dependencies, nothing loaded from the internet.
(function () {
  "use strict";

  const config = JSON.parse(document.body.dataset.config || "{}");
  const POLL_MS = config.pollMs || 2000;
  const TOKEN_KEY = "incident-console-token";
  const $ = (id) => document.getElementById(id);
  const openDetails = new Set();
  let lastRender = "";
  let busy = false;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function utc(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function clock(iso) {
    return new Date(iso).toISOString().slice(11, 23);
  }

  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 90) return s + "s ago";
    if (s < 5400) return Math.round(s / 60) + "m ago";
    if (s < 172800) return Math.round(s / 3600) + "h ago";
    return Math.round(s / 86400) + "d ago";
  }

  function badge(text, cls) {
    return el("span", { class: "badge " + cls, text });
  }

  // A link may carry the token in its fragment, which browsers never send to a server:
  // "#token=T" or "#/incidents/<id>?token=T". It is kept for this tab only and removed from the address bar.
  function adoptTokenFromLink() {
    const match = location.hash.match(/[#?&]token=([^&]+)/);
    if (!match) return;
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    const rest = location.hash.replace(/[?&]?token=[^&]+/, "").replace(/^#$/, "");
    history.replaceState(null, "", location.pathname + location.search + rest);
  }

  function route() {
    const match = location.hash.match(/^#\/incidents\/(.+)$/);
    return match ? { view: "incident", id: decodeURIComponent(match[1]) } : { view: "list" };
  }

  async function api(path, options) {
    const headers = { Accept: "application/json" };
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (stored) headers.Authorization = "Bearer " + stored; // reads need a token unless open_reads is set
    const response = await fetch(path, Object.assign({ headers }, options));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = new Error(body.message || body.detail || response.statusText);
      err.status = response.status;
      throw err;
    }
    return body;
  }

  function setLive(ok, text) {
    const live = $("live");
    live.textContent = text;
    live.classList.toggle("down", !ok);
  }

  function flash(text, isError) {
    const box = $("flash");
    box.textContent = text;
    box.classList.toggle("error", !!isError);
    box.hidden = !text;
  }

  // ---- incident list -------------------------------------------------------------------------

  function renderList(incidents) {
    const rows = $("incident-rows");
    rows.replaceChildren(
      ...incidents.map((inc) => {
        const open = () => (location.hash = "#/incidents/" + encodeURIComponent(inc.incident_id));
        const owner = inc.acknowledged_by || (inc.team ? "team " + inc.team : "—");
        return el(
          "tr",
          { class: inc.status, tabindex: "0", "data-incident-id": inc.incident_id, onclick: open,
            onkeydown: (e) => e.key === "Enter" && open() },
          el("td", {}, badge(inc.severity, "sev-" + inc.severity),
            inc.response_target_breached ? el("span", {}, " ", badge("target breached", "breach")) : null),
          el("td", {}, badge(inc.status, "st-" + inc.status)),
          el("td", { class: "incident-title-cell" },
            el("a", { href: "#/incidents/" + encodeURIComponent(inc.incident_id), text: inc.title }),
            el("span", { class: "incident-id", text: inc.incident_id })),
          el("td", { text: inc.target }),
          el("td", { title: inc.opened_at, text: utc(inc.opened_at) + " (" + ago(inc.opened_at) + ")" }),
          el("td", { text: owner })
        );
      })
    );
    $("empty-list").hidden = incidents.length > 0;
  }

  async function refreshList() {
    const status = $("status-filter").value;
    let incidents;
    if (status === "open") {
      const [triggered, acked] = await Promise.all([
        api("/api/incidents?status=triggered"),
        api("/api/incidents?status=acknowledged"),
      ]);
      incidents = triggered.concat(acked).sort((a, b) => (a.opened_at < b.opened_at ? 1 : -1));
    } else {
      incidents = await api("/api/incidents" + (status ? "?status=" + status : ""));
    }
    renderList(incidents);
  }

  // ---- one incident --------------------------------------------------------------------------

  function fact(term, value) {
    return [el("dt", { text: term }), el("dd", { text: value || "—" })];
  }

  function renderIncident(detail) {
    const s = detail.summary;
    $("incident-title").textContent = s.title;
    document.title = s.title + " — " + (config.title || "Incident console");
    $("incident-badges").replaceChildren(
      badge(s.severity, "sev-" + s.severity),
      badge(s.status, "st-" + s.status),
      s.response_target_breached ? badge("response target breached", "breach") : ""
    );
    $("incident-facts").replaceChildren(
      ...fact("Incident", s.incident_id),
      ...fact("Target", s.target),
      ...fact("Opened", utc(s.opened_at)),
      ...fact("Severity reason", s.severity_reason),
      ...fact("Acknowledged", s.acknowledged_at ? utc(s.acknowledged_at) + " by " + s.acknowledged_by : ""),
      ...fact("Team", s.team ? s.team + (s.escalation_step !== null ? " (step " + s.escalation_step + ")" : "") : ""),
      ...fact("Resolved", s.resolved_at ? utc(s.resolved_at) + " by " + s.resolved_by : ""),
      ...fact("Signals", (s.signals || []).join(", "))
    );
    const resolved = s.status === "resolved";
    document.querySelector('[data-command="ack"]').disabled = resolved || s.status === "acknowledged";
    document.querySelector('[data-command="resolve"]').disabled = resolved;
    const report = $("report-link");
    report.hidden = !s.has_report;
    report.href = "/api/incidents/" + encodeURIComponent(s.incident_id) + "/report?format=html";
    report.onclick = openReport;

    $("timeline-count").textContent = "(" + detail.timeline.length + " events)";
    $("timeline").replaceChildren(
      ...detail.timeline.map((entry) => {
        const family = entry.type.split(".")[0];
        const details = el(
          "details",
          { open: openDetails.has(entry.id),
            ontoggle: (e) => (e.target.open ? openDetails.add(entry.id) : openDetails.delete(entry.id)) },
          el("summary", { text: "details" }),
          el("div", { class: "ids", text: "event " + entry.id + " · correlation " + (entry.correlationid || "—") +
            " · caused by " + (entry.causationid || "—") + " · " + entry.topic + " · " + entry.source }),
          el("pre", { text: JSON.stringify(entry.data, null, 2) })
        );
        return el(
          "li",
          { class: "t-" + family, "data-event-id": entry.id, "data-event-type": entry.type,
            "data-correlation-id": entry.correlationid || "" },
          el("span", { class: "when", title: entry.time, text: clock(entry.time) }),
          el("span", { class: "kind", text: entry.type }),
          el("span", { class: "summary", text: entry.summary }),
          details
        );
      })
    );
  }

  async function refreshIncident(id) {
    try {
      const detail = await api("/api/incidents/" + encodeURIComponent(id));
      const signature = JSON.stringify([detail.summary, detail.timeline.length]);
      if (signature !== lastRender) {
        renderIncident(detail);
        lastRender = signature;
      }
    } catch (err) {
      if (err.status === 404) {
        $("incident-title").textContent = "Unknown incident " + id;
        $("timeline").replaceChildren();
        lastRender = "";
        return;
      }
      throw err;
    }
  }

  // The report needs the token too, which a plain link cannot send: fetch it, then show it from a blob.
  async function openReport(event) {
    event.preventDefault();
    const headers = {};
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (stored) headers.Authorization = "Bearer " + stored;
    const response = await fetch(event.currentTarget.href, { headers });
    if (!response.ok) {
      flash("Report unavailable: HTTP " + response.status, true);
      return;
    }
    const page = new Blob([await response.text()], { type: "text/html" });
    window.open(URL.createObjectURL(page), "_blank", "noopener");
  }

  // ---- commands ------------------------------------------------------------------------------

  function token(ask) {
    let value = sessionStorage.getItem(TOKEN_KEY);
    if (!value && ask) {
      value = (window.prompt("API token (RESPONDER_API_TOKEN) for this browser tab:") || "").trim();
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
    }
    updateTokenButton();
    return value;
  }

  function updateTokenButton() {
    $("token-button").textContent = sessionStorage.getItem(TOKEN_KEY) ? "Forget token" : "Set token";
  }

  async function command(kind) {
    const current = route();
    if (current.view !== "incident") return;
    const body = { actor: "console", request_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) };
    if (kind === "notes") {
      body.text = (window.prompt("Note for the timeline:") || "").trim();
      if (!body.text) return;
    }
    const bearer = token(true);
    if (!bearer) return;
    try {
      const result = await api("/api/incidents/" + encodeURIComponent(current.id) + "/" + kind, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer " + bearer },
        body: JSON.stringify(body),
      });
      flash("Sent " + result.event_type.replace("dev.incidentctl.", "") + " (" + result.command_id + "); the timeline updates when the responder applies it.");
    } catch (err) {
      if (err.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      updateTokenButton();
      flash("Command refused: " + err.message, true);
    }
  }

  // ---- loop ----------------------------------------------------------------------------------

  async function refresh() {
    if (busy) return;
    busy = true;
    const current = route();
    $("list-view").hidden = current.view !== "list";
    $("incident-view").hidden = current.view !== "incident";
    try {
      if (current.view === "incident") await refreshIncident(current.id);
      else await refreshList();
      setLive(true, "live · updated " + new Date().toISOString().slice(11, 19) + " UTC");
    } catch (err) {
      if (err.status === 401) setLive(false, "This API needs the token for reads: use “Set token”.");
      else setLive(false, "API unreachable: " + err.message + " (retrying)");
    } finally {
      busy = false;
    }
  }

  window.addEventListener("hashchange", () => {
    lastRender = "";
    openDetails.clear();
    flash("");
    refresh();
  });
  $("status-filter").addEventListener("change", refresh);
  $("token-button").addEventListener("click", () => {
    if (sessionStorage.getItem(TOKEN_KEY)) sessionStorage.removeItem(TOKEN_KEY);
    else token(true);
    updateTokenButton();
  });
  document.querySelectorAll("[data-command]").forEach((button) =>
    button.addEventListener("click", () => command(button.dataset.command))
  );
  adoptTokenFromLink();
  updateTokenButton();
  refresh();
  setInterval(refresh, POLL_MS);
})();
