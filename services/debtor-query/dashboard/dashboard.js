// The ops dashboard: fetches api/v1/dashboard every 10 seconds and draws it. Plain JS, no
// library: the page must work on a wall screen with no internet. Every text from the API goes in
// through textContent, never as HTML (a debtor's name is data, not markup).
(function () {
  "use strict";

  const REFRESH_MS = 10000;
  const FETCH_TIMEOUT_MS = 8000;
  const SVG = "http://www.w3.org/2000/svg";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const STATE_WORDS = {
    ready: "ready",
    catching_up: "catching up",
    unreachable: "unreachable",
    not_configured: "not configured",
  };

  const root = document.getElementById("dashboard");
  const filter = document.getElementById("branch-filter");
  const byTestId = (id, within) => (within || document).querySelector('[data-testid="' + id + '"]');

  let lastSuccess = null; // Date of the last answer drawn
  let timer = null;

  // ---- formatting ----

  const two = (n) => String(n).padStart(2, "0");
  const clock = (d) => two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  const day = (d) => d.getDate() + " " + MONTHS[d.getMonth()];
  const integer = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));
  const percent = (ratio) => (ratio === null || ratio === undefined ? "–" : (ratio * 100).toFixed(1) + "%");
  const days = (n) => (n === null || n === undefined ? "–" : n.toFixed(1));
  // The text is rounded once, from the exact counts: the API's fill_rate (4 decimals) and
  // averages (2 decimals) are already rounded, and rounding them again to the 1 decimal shown
  // can land a step off (0.510526 -> 0.5105 -> "51.0%" instead of "51.1%").
  const fillRateOf = (f) => (f.quantity && f.quantity.back_ordered > 0 ? f.quantity.filled / f.quantity.back_ordered : f.fill_rate);
  const averageDays = (d) => (d && d.count > 0 ? d.seconds_total / d.count / 86400 : null);

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ---- who is looking ----

  // The viewer's bearer token: given once in the address's fragment (#token=..., which the
  // browser never sends to a server), then kept for this tab only in sessionStorage and taken out
  // of the address bar. A stack started --insecure needs none.
  function bearerToken() {
    const given = new URLSearchParams(window.location.hash.slice(1)).get("token");
    if (given) {
      sessionStorage.setItem("bo-token", given);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return sessionStorage.getItem("bo-token") || "";
  }
  const token = bearerToken();

  // ---- the branch filter and the URL ----

  function selectedBranch() {
    return new URLSearchParams(window.location.search).get("branch") || "";
  }

  // Keeps the filter's options equal to the known branches, plus the selected one even if the
  // API does not know it (a bookmarked screen for a branch with nothing yet stays on it).
  function fillFilter(branches, selected) {
    const wanted = [""].concat(branches);
    if (selected && !branches.includes(selected)) wanted.push(selected);
    const have = Array.from(filter.options).map((o) => o.value);
    if (have.join("\n") !== wanted.join("\n")) {
      filter.replaceChildren();
      for (const b of wanted) {
        const label = b === "" ? "All branches" : branches.includes(b) ? b : b + " (no data)";
        filter.appendChild(el("option", { value: b }, label));
      }
    }
    filter.value = selected;
  }

  filter.addEventListener("change", () => {
    const url = new URL(window.location.href);
    if (filter.value) url.searchParams.set("branch", filter.value);
    else url.searchParams.delete("branch");
    // replaceState: the address bar shows the branch, so the screen can be bookmarked to it.
    window.history.replaceState(null, "", url);
    refresh();
  });

  // ---- tiles ----

  function tile(id, value, text, note) {
    const t = byTestId(id);
    t.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
    byTestId("tile-value", t).textContent = text;
    byTestId("tile-note", t).textContent = note || "";
  }

  function drawTiles(body) {
    const f = body.figures.total;
    const s = f.open_by_state;
    tile("tile-ready", body.ready_to_invoice.total, integer(body.ready_to_invoice.total),
      integer(f.ready_to_invoice.quantity) + " units waiting");
    tile("tile-open", f.open, integer(f.open),
      integer(s.OPEN) + " open · " + integer(s.ON_ORDER) + " on order · " +
      integer(s.PARTLY_FILLED) + " part-filled · " + integer(s.FILLED) + " filled");
    tile("tile-fill-rate", f.fill_rate, percent(fillRateOf(f)),
      integer(f.quantity.filled) + " of " + integer(f.quantity.back_ordered) + " units");
    tile("tile-days-to-fill", f.days_to_fill.average, days(averageDays(f.days_to_fill)),
      "over " + integer(f.days_to_fill.count) + " filled");
    tile("tile-days-to-invoice", f.days_to_invoice.average, days(averageDays(f.days_to_invoice)),
      "over " + integer(f.days_to_invoice.count) + " invoiced");
    tile("tile-lost-sales", f.lost_sales.lines, integer(f.lost_sales.lines),
      integer(f.lost_sales.quantity) + " units not supplied");
  }

  // ---- charts (inline SVG, drawn here) ----
  // One SVG unit is one CSS pixel (the viewBox is the host's width), so chart text has the size
  // the stylesheet gives it, on a laptop as on a wall screen; a resize redraws.

  function chartGeometry(host, labels) {
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const width = Math.max(320, Math.floor(host.clientWidth || 600));
    const longest = Math.max(4, ...labels.map((l) => String(l).length));
    const labelWidth = Math.min(width * 0.3, rem * 0.75 * longest + rem);
    return { width, rem, labelWidth };
  }

  function drawAgeChart(age) {
    const legend = byTestId("age-legend");
    legend.replaceChildren();
    age.buckets.forEach((b, i) => {
      const item = el("li", { "data-bucket": b.key });
      item.appendChild(el("span", { class: "swatch", style: "background: var(--age-" + i + ")" }));
      item.appendChild(document.createTextNode(b.label));
      legend.appendChild(item);
    });
    const host = byTestId("age-chart");
    host.replaceChildren();
    const rows = age.branches;
    if (rows.length === 0 || age.total.total === 0) {
      host.appendChild(el("p", { class: "empty" }, "No open back orders."));
      return;
    }
    const { width, rem, labelWidth } = chartGeometry(host, rows.map((r) => r.branch));
    const rowHeight = Math.round(rem * 2.5), barHeight = Math.round(rem * 1.8);
    const totalWidth = rem * 3.5;
    const barWidth = width - labelWidth - totalWidth;
    const max = Math.max(1, ...rows.map((r) => r.total));
    const chart = svg("svg", {
      viewBox: "0 0 " + width + " " + rows.length * rowHeight,
      role: "img",
      "aria-label": "Open back orders by age bucket and branch",
    });
    rows.forEach((row, r) => {
      const y = r * rowHeight + (rowHeight - barHeight) / 2;
      const g = svg("g", { "data-testid": "age-row", "data-branch": row.branch, "data-total": row.total });
      g.appendChild(svg("text", { class: "label", x: 0, y: y + barHeight * 0.72 }, row.branch));
      g.appendChild(svg("rect", { class: "track", x: labelWidth, y: y, width: barWidth, height: barHeight, rx: 4 }));
      let x = labelWidth;
      row.counts.forEach((count, i) => {
        if (count === 0) return;
        const w = (count / max) * barWidth;
        const segment = svg("rect", {
          x: x, y: y, width: w, height: barHeight,
          fill: "var(--age-" + i + ")",
          "data-testid": "age-segment",
          "data-branch": row.branch,
          "data-bucket": age.buckets[i].key,
          "data-count": count,
        });
        segment.appendChild(svg("title", {}, row.branch + ", " + age.buckets[i].label + ": " + count));
        g.appendChild(segment);
        if (w >= rem * 1.6) {
          g.appendChild(svg("text", { class: "count", x: x + w / 2, y: y + barHeight * 0.7, "text-anchor": "middle" }, count));
        }
        x += w;
      });
      const label = row.unknown_age > 0 ? row.total + "*" : String(row.total);
      g.appendChild(svg("text", { class: "total", x: width, y: y + barHeight * 0.72, "text-anchor": "end" }, label));
      chart.appendChild(g);
    });
    host.appendChild(chart);
    if (age.total.unknown_age > 0) {
      host.appendChild(el("p", { class: "panel-note" },
        "* includes " + age.total.unknown_age + " filled before its creation reached us (age not known yet)"));
    }
  }

  function drawFillRateChart(branches) {
    const host = byTestId("fill-rate-chart");
    host.replaceChildren();
    if (branches.length === 0) {
      host.appendChild(el("p", { class: "empty" }, "No back orders yet."));
      return;
    }
    const { width, rem, labelWidth } = chartGeometry(host, branches.map((b) => b.branch));
    const rowHeight = Math.round(rem * 2.5), barHeight = Math.round(rem * 1.8);
    const valueWidth = rem * 5;
    const barWidth = width - labelWidth - valueWidth;
    const chart = svg("svg", {
      viewBox: "0 0 " + width + " " + branches.length * rowHeight,
      role: "img",
      "aria-label": "Fill rate by branch",
    });
    branches.forEach((b, r) => {
      const y = r * rowHeight + (rowHeight - barHeight) / 2;
      const rate = b.fill_rate;
      const g = svg("g", { "data-testid": "fill-rate-bar", "data-branch": b.branch, "data-value": rate === null ? "" : rate });
      g.appendChild(svg("text", { class: "label", x: 0, y: y + barHeight * 0.72 }, b.branch));
      g.appendChild(svg("rect", { class: "track", x: labelWidth, y: y, width: barWidth, height: barHeight, rx: 4 }));
      if (rate !== null) {
        const colour = rate >= 0.9 ? "var(--good)" : rate >= 0.7 ? "var(--warn)" : "var(--bad)";
        g.appendChild(svg("rect", { x: labelWidth, y: y, width: Math.max(0, Math.min(1, rate)) * barWidth, height: barHeight, rx: 4, fill: colour }));
      }
      g.appendChild(svg("text", { class: "total", x: width, y: y + barHeight * 0.72, "text-anchor": "end" }, percent(fillRateOf(b))));
      chart.appendChild(g);
    });
    host.appendChild(chart);
  }

  // ---- tables ----
  // Every <td> has data-column; every element holding exactly one value of the API row has
  // data-field = that field's name, and its text is the value as the API gives it (so a test can
  // compare them), with words like "line" or "still waiting" outside it.

  function field(name, value, cls) {
    return el("span", cls ? { "data-field": name, class: cls } : { "data-field": name }, value);
  }

  function column(name, ...children) {
    const td = el("td", { "data-column": name });
    for (const c of children) {
      if (c) td.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return td;
  }

  function sub(...children) {
    const span = el("span", { class: "sub" });
    for (const c of children) {
      if (c) span.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return span;
  }

  function drawReady(ready) {
    const tbody = byTestId("ready-table").tBodies[0];
    tbody.replaceChildren();
    for (const row of ready.rows) {
      const tr = el("tr", { "data-testid": "ready-row", "data-backorder-id": row.backorder_id });
      tr.appendChild(column("branch", field("branch_id", row.branch_id)));
      tr.appendChild(row.debtor_name
        ? column("debtor", field("debtor_name", row.debtor_name), sub(field("debtor_id", row.debtor_id)))
        : column("debtor", field("debtor_id", row.debtor_id)));
      const reach = [];
      if (row.phone) reach.push(field("phone", row.phone));
      if (row.email) reach.push(reach.length ? " · " : "", field("email", row.email));
      tr.appendChild(row.contact_name
        ? column("contact", field("contact_name", row.contact_name), reach.length ? sub(...reach) : null)
        : column("contact", ...(reach.length ? reach : ["–"])));
      tr.appendChild(column("invoice", field("invoice_id", row.invoice_id),
        sub("line ", field("invoice_line", String(row.invoice_line)))));
      tr.appendChild(column("backorder", field("backorder_id", row.backorder_id)));
      tr.appendChild(column("part", field("part_number", row.part_number)));
      const quantity = column("quantity", field("quantity_ready", String(row.quantity_ready)),
        row.quantity_waiting > 0 ? sub(field("quantity_waiting", String(row.quantity_waiting)), " still waiting") : null);
      quantity.className = "num";
      tr.appendChild(quantity);
      const since = row.ready_since ? new Date(row.ready_since) : null;
      const waited = row.days_ready === null ? "" : row.days_ready === 1 ? "1 day" : row.days_ready + " days";
      const sinceField = field("ready_since", since ? day(since) : "–");
      if (row.ready_since) sinceField.setAttribute("data-value", row.ready_since);
      const waiting = column("waiting_since", sinceField, waited ? sub(waited) : null);
      if (row.days_ready >= 7) waiting.className = "old";
      tr.appendChild(waiting);
      tbody.appendChild(tr);
    }
    byTestId("ready-empty").hidden = ready.total !== 0;
    byTestId("ready-count").textContent = ready.truncated
      ? "showing the first " + integer(ready.rows.length) + " of " + integer(ready.total)
      : integer(ready.total) + (ready.total === 1 ? " back order" : " back orders");
  }

  function drawServices(services) {
    const tbody = byTestId("services-table").tBodies[0];
    tbody.replaceChildren();
    for (const s of services) {
      const tr = el("tr", { "data-testid": "service-row", "data-service": s.service, "data-state": s.state });
      tr.appendChild(column("service", field("service", s.service), s.error ? sub(field("error", s.error)) : null));
      tr.appendChild(column("state", field("state", STATE_WORDS[s.state] || s.state, "state state-" + s.state)));
      const lag = column("lag", field("lag", s.lag === null ? "–" : String(s.lag)));
      lag.className = "num";
      tr.appendChild(lag);
      const outbox = column("outbox_depth", field("outbox_depth", s.outbox_depth === null ? "–" : String(s.outbox_depth)));
      outbox.className = "num";
      tr.appendChild(outbox);
      tbody.appendChild(tr);
    }
  }

  let lastBody = null;
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (lastBody) {
        drawAgeChart(lastBody.open_by_age);
        drawFillRateChart(lastBody.figures.branches);
      }
    }, 150);
  });

  function draw(body) {
    lastBody = body;
    fillFilter(body.branches, body.branch || "");
    byTestId("scope").textContent = body.branch ? "Branch " + body.branch : "All branches";
    drawTiles(body);
    drawAgeChart(body.open_by_age);
    drawFillRateChart(body.figures.branches);
    drawReady(body.ready_to_invoice);
    drawServices(body.services);
    root.setAttribute("data-generated-at", body.generated_at);
    root.setAttribute("data-branch", body.branch || "");
    root.setAttribute("data-loaded", "true");
  }

  // ---- refreshing ----

  function showStale(reason) {
    const warning = byTestId("stale-warning");
    warning.textContent = lastSuccess
      ? "Not updated since " + clock(lastSuccess) + " (" + reason + "). The figures below may be out of date."
      : "The dashboard data cannot be loaded (" + reason + ").";
    warning.hidden = false;
    root.setAttribute("data-stale", "true");
  }

  // One fetch at a time counts: a refresh started by the filter supersedes the one running (whose
  // answer, for the old branch, is then dropped rather than aborted, so no request ever fails
  // for a reason other than the server).
  let latest = 0;

  async function refresh() {
    clearTimeout(timer);
    const mine = ++latest;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    const branch = selectedBranch();
    try {
      const query = branch ? "?branch=" + encodeURIComponent(branch) : "";
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const response = await fetch("api/v1/dashboard" + query,
        { signal: controller.signal, cache: "no-store", headers });
      if (response.status === 401 || response.status === 403) {
        // The guard answers in plain text: who is missing, or which branch is not theirs.
        const why = (await response.text()).trim();
        throw new Error(response.status === 401 ? why + " (open the address with #token=<token>)" : why);
      }
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
      if (mine !== latest) return;
      draw(body);
      lastSuccess = new Date();
      byTestId("updated").textContent = "updated " + clock(lastSuccess);
      byTestId("stale-warning").hidden = true;
      root.setAttribute("data-stale", "false");
    } catch (e) {
      if (mine !== latest) return;
      showStale(e.name === "AbortError" ? "no answer in time"
        : e instanceof TypeError ? "the server does not answer" : e.message);
    } finally {
      clearTimeout(timeout);
      if (mine === latest) timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  filter.value = selectedBranch();
  refresh();
})();
