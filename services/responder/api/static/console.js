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

  // Fixed strings in the page's language (<html lang>, from the API's `language` setting); English is the key.
  // Event text (titles, reasons, timeline summaries) is shown as the API sends it.
  const KO = {
    "connecting…": "연결 중…", "Set token": "토큰 설정", "Forget token": "토큰 삭제", "Incidents": "장애 목록",
    "Status": "상태", "open (triggered + acknowledged)": "진행 중 (발생 + 확인됨)", "all": "전체",
    "triggered": "발생", "acknowledged": "확인됨", "resolved": "해결됨", "Severity": "심각도", "Incident": "장애",
    "Target": "대상", "Opened (UTC)": "발생 시각 (UTC)", "Owner / team": "담당자 / 팀",
    "No incidents. All quiet.": "장애가 없습니다. 모두 정상입니다.", "← all incidents": "← 전체 장애",
    "Acknowledge": "확인", "Resolve": "해결", "Add note": "메모 추가", "Run RCA now": "지금 원인 분석",
    "Report": "보고서", "Timeline": "타임라인", "critical": "심각", "major": "주요", "minor": "경미",
    "target breached": "목표 위반", "response target breached": "대응 목표 위반", "team": "팀",
    "Opened": "발생", "Severity reason": "심각도 근거", "Acknowledged": "확인", "Team": "팀", "Resolved": "해결",
    "Signals": "신호", "by": "처리자", "step": "단계", "events": "건", "details": "상세",
    "Unknown incident": "알 수 없는 장애", "Report unavailable: HTTP": "보고서를 열 수 없습니다: HTTP",
    "API token (RESPONDER_API_TOKEN) for this browser tab:": "이 브라우저 탭에서 쓸 API 토큰 (RESPONDER_API_TOKEN):",
    "Note for the timeline:": "타임라인에 남길 메모:", "Sent": "전송됨",
    "the timeline updates when the responder applies it.": "대응 서비스가 적용하면 타임라인이 갱신됩니다.",
    "Command refused:": "명령 거부:", "live · updated": "실시간 · 갱신",
    "This API needs the token for reads: use “Set token”.": "이 API는 조회에도 토큰이 필요합니다: “토큰 설정”을 누르십시오.",
    "API unreachable:": "API에 연결할 수 없습니다:", "(retrying)": "(재시도 중)",
    "s ago": "초 전", "m ago": "분 전", "h ago": "시간 전", "d ago": "일 전",
    "Declared by": "선언자", "Assigned to": "담당 배정", "Severity set by hand": "수동 심각도", "Merged into": "병합 대상",
    "Escalate now": "지금 상향", "Set severity": "심각도 변경", "Declare incident": "장애 선언",
    "Why escalate to the next level now?": "지금 다음 단계로 상향하는 이유:",
    "New severity (critical, major, minor; clear gives it back to the rules):":
      "새 심각도 (critical, major, minor; clear는 규칙에 되돌림):",
    "Reason (kept on the timeline):": "사유 (타임라인에 남음):",
    "What happened (title)?": "무슨 일입니까 (제목)?",
    "Severity (critical, major, minor):": "심각도 (critical, major, minor):",
    "Impact (optional, e.g. security, data_loss):": "영향 (선택, 예: security, data_loss):",
    "Approve recovery": "복구 승인", "Deny recovery": "복구 거부", "Awaiting approval": "승인 대기",
    "Why deny this recovery step?": "이 복구 단계를 거부하는 이유:",
  };
  const LANG = (document.documentElement.lang || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
  const tr = (text) => (LANG === "ko" && KO[text]) || text;
  document.querySelectorAll("[data-i18n]").forEach((node) => (node.textContent = tr(node.textContent.trim())));


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
    if (s < 90) return s + tr("s ago");
    if (s < 5400) return Math.round(s / 60) + tr("m ago");
    if (s < 172800) return Math.round(s / 3600) + tr("h ago");
    return Math.round(s / 86400) + tr("d ago");
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
        const owner = inc.acknowledged_by || (inc.team ? tr("team") + " " + inc.team : "—");
        return el(
          "tr",
          { class: inc.status, tabindex: "0", "data-incident-id": inc.incident_id, onclick: open,
            onkeydown: (e) => e.key === "Enter" && open() },
          el("td", {}, badge(tr(inc.severity), "sev-" + inc.severity),
            inc.response_target_breached ? el("span", {}, " ", badge(tr("target breached"), "breach")) : null),
          el("td", {}, badge(tr(inc.status), "st-" + inc.status)),
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
    return [el("dt", { text: tr(term) }), el("dd", { text: value || "—" })];
  }

  function renderIncident(detail) {
    const s = detail.summary;
    $("incident-title").textContent = s.title;
    document.title = s.title + " — " + (config.title || "Incident console");
    $("incident-badges").replaceChildren(
      badge(tr(s.severity), "sev-" + s.severity),
      badge(tr(s.status), "st-" + s.status),
      s.response_target_breached ? badge(tr("response target breached"), "breach") : ""
    );
    $("incident-facts").replaceChildren(
      ...fact("Incident", s.incident_id),
      ...fact("Target", s.target),
      ...fact("Opened", utc(s.opened_at)),
      ...fact("Severity reason", s.severity_reason),
      ...fact("Acknowledged", s.acknowledged_at ? utc(s.acknowledged_at) + " " + tr("by") + " " + s.acknowledged_by : ""),
      ...fact("Team", s.team ? s.team + (s.escalation_step !== null ? " (" + tr("step") + " " + s.escalation_step + ")" : "") : ""),
      ...fact("Resolved", s.resolved_at ? utc(s.resolved_at) + " " + tr("by") + " " + s.resolved_by : ""),
      ...fact("Signals", (s.signals || []).join(", ")),
      ...(s.declared_by ? fact("Declared by", s.declared_by) : []),
      ...(s.assigned_team || s.assignee ? fact("Assigned to", [s.assigned_team, s.assignee].filter(Boolean).join(" / ")) : []),
      ...(s.severity_override ? fact("Severity set by hand", tr(s.severity_override)) : []),
      ...(s.merged_into ? fact("Merged into", s.merged_into) : []),
      ...(s.awaiting_approval ? fact("Awaiting approval", s.awaiting_approval) : [])
    );
    const resolved = s.status === "resolved";
    document.querySelector('[data-command="ack"]').disabled = resolved || s.status === "acknowledged";
    document.querySelector('[data-command="resolve"]').disabled = resolved;
    document.querySelector('[data-command="escalate"]').disabled = resolved;
    document.querySelector('[data-command="severity"]').disabled = resolved;
    document.querySelector('[data-command="approve"]').hidden = !s.awaiting_approval;
    document.querySelector('[data-command="deny"]').hidden = !s.awaiting_approval;
    const report = $("report-link");
    report.hidden = !s.has_report;
    report.href = "/api/incidents/" + encodeURIComponent(s.incident_id) + "/report?format=html";
    report.onclick = openReport;

    $("timeline-count").textContent = "(" + detail.timeline.length + " " + tr("events") + ")";
    $("timeline").replaceChildren(
      ...detail.timeline.map((entry) => {
        const family = entry.type.split(".")[0];
        const details = el(
          "details",
          { open: openDetails.has(entry.id),
            ontoggle: (e) => (e.target.open ? openDetails.add(entry.id) : openDetails.delete(entry.id)) },
          el("summary", { text: tr("details") }),
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
        $("incident-title").textContent = tr("Unknown incident") + " " + id;
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
      flash(tr("Report unavailable: HTTP") + " " + response.status, true);
      return;
    }
    const page = new Blob([await response.text()], { type: "text/html" });
    window.open(URL.createObjectURL(page), "_blank", "noopener");
  }

  // ---- commands ------------------------------------------------------------------------------

  function token(ask) {
    let value = sessionStorage.getItem(TOKEN_KEY);
    if (!value && ask) {
      value = (window.prompt(tr("API token (RESPONDER_API_TOKEN) for this browser tab:")) || "").trim();
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
    }
    updateTokenButton();
    return value;
  }

  function updateTokenButton() {
    $("token-button").textContent = tr(sessionStorage.getItem(TOKEN_KEY) ? "Forget token" : "Set token");
  }

  async function command(kind) {
    const current = route();
    if (current.view !== "incident") return;
    const body = { actor: "console", request_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) };
    if (kind === "notes") {
      body.text = (window.prompt(tr("Note for the timeline:")) || "").trim();
      if (!body.text) return;
    } else if (kind === "escalate") {
      const why = window.prompt(tr("Why escalate to the next level now?"));
      if (why === null) return;
      body.text = why.trim();
    } else if (kind === "deny") {
      body.text = (window.prompt(tr("Why deny this recovery step?")) || "").trim();
      if (!body.text) return;
    } else if (kind === "severity") {
      const wanted = (window.prompt(tr("New severity (critical, major, minor; clear gives it back to the rules):")) || "")
        .trim().toLowerCase();
      if (!wanted) return;
      body.severity = wanted === "clear" ? null : wanted;
      body.text = (window.prompt(tr("Reason (kept on the timeline):")) || "").trim();
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
      flash(tr("Sent") + " " + result.event_type.replace("dev.incidentctl.", "") + " (" + result.command_id + "); " +
        tr("the timeline updates when the responder applies it."));
    } catch (err) {
      if (err.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      updateTokenButton();
      flash(tr("Command refused:") + " " + err.message, true);
    }
  }

  async function declare() {
    const title = (window.prompt(tr("What happened (title)?")) || "").trim();
    if (!title) return;
    const severity = (window.prompt(tr("Severity (critical, major, minor):"), "major") || "").trim().toLowerCase();
    if (!severity) return;
    const impact = (window.prompt(tr("Impact (optional, e.g. security, data_loss):")) || "").trim();
    const bearer = token(true);
    if (!bearer) return;
    const body = { title, severity, actor: "console", request_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) };
    if (impact) body.impact = impact;
    try {
      const result = await api("/api/incidents", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer " + bearer },
        body: JSON.stringify(body),
      });
      flash(tr("Sent") + " declare (" + result.incident_id + "); " + tr("the timeline updates when the responder applies it."));
    } catch (err) {
      if (err.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      updateTokenButton();
      flash(tr("Command refused:") + " " + err.message, true);
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
      setLive(true, tr("live · updated") + " " + new Date().toISOString().slice(11, 19) + " UTC");
    } catch (err) {
      if (err.status === 401) setLive(false, tr("This API needs the token for reads: use “Set token”."));
      else setLive(false, tr("API unreachable:") + " " + err.message + " " + tr("(retrying)"));
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
  $("declare-button").addEventListener("click", declare);
  document.querySelectorAll("[data-command]").forEach((button) =>
    button.addEventListener("click", () => command(button.dataset.command))
  );
  adoptTokenFromLink();
  updateTokenButton();
  refresh();
  setInterval(refresh, POLL_MS);
})();
