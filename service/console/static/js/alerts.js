/* Alerts: the timeline (newest first, live over Server-Sent Events), filters, and one alert in full. */
"use strict";
(function () {
  const { el, api, articleView, timeEl, badge, tags, clear, SEVERITY, toast } = window.ga;
  const timeline = document.getElementById("timeline");
  const empty = document.getElementById("timeline-empty");
  const more = document.getElementById("more");
  const detail = document.getElementById("detail");
  const form = document.getElementById("filters");
  const live = document.getElementById("live");
  const PAGE = 50;
  let cursor = null;
  let source = null;
  let selected = null;
  const shown = new Set();

  const SINCE = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
  function filters() {
    const data = Object.fromEntries(new FormData(form).entries());
    const out = {};
    for (const [k, v] of Object.entries(data)) if (v.trim()) out[k] = v.trim();
    if (out.since) out.since = new Date(Date.now() - SINCE[out.since] * 1000).toISOString();
    return out;
  }
  /* The API filters what it knows; the same test here keeps live alerts and older servers consistent. */
  function passes(alert, f) {
    if (f.rule && alert.rule.id !== f.rule) return false;
    if (f.severity && SEVERITY[alert.rule.severity] < SEVERITY[f.severity]) return false;
    if (f.tag && !(alert.rule.tags || []).includes(f.tag)) return false;
    if (f.source && !(alert.article.source || "").toLowerCase().includes(f.source.toLowerCase())) return false;
    if (f.language && alert.article.language && alert.article.language !== f.language) return false;
    if (f.since && new Date(alert.created_at) < new Date(f.since)) return false;
    return true;
  }

  function item(alert, fresh) {
    const first = (alert.evidence || [])[0];
    const li = el(
      "li",
      {
        class: `alert-item sev-${alert.rule.severity}${fresh ? " fresh" : ""}`,
        tabindex: "0",
        role: "button",
        "aria-selected": "false",
        "data-cursor": alert.cursor,
        "data-rule": alert.rule.id,
      },
      el("span", { class: "title" }, alert.article.title || "(untitled)"),
      el(
        "span",
        { class: "meta" },
        badge(alert.rule.severity),
        el("span", {}, alert.rule.title || alert.rule.id),
        alert.article.source ? el("span", {}, alert.article.source) : null,
        timeEl(alert.created_at, true)
      ),
      first ? el("span", { class: "snippet muted" }, first.snippet) : null
    );
    const open = () => show(alert.cursor, li);
    li.addEventListener("click", open);
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        open();
      }
    });
    return li;
  }

  async function load(reset) {
    const f = filters();
    if (reset) {
      clear(timeline);
      shown.clear();
      cursor = null;
    }
    const params = new URLSearchParams(Object.assign({ limit: String(PAGE) }, f, cursor ? { cursor } : {}));
    try {
      const page = await api("GET", `/v1/alerts?${params}`);
      for (const alert of page.items) {
        if (shown.has(alert.cursor) || !passes(alert, f)) continue;
        shown.add(alert.cursor);
        timeline.append(item(alert, false));
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = timeline.children.length > 0;
      document.body.dataset.loaded = "true";
    } catch (error) {
      toast(`Alerts could not be loaded: ${error.message}`, true);
    }
  }

  function connect() {
    if (source) source.close();
    const f = filters();
    const params = new URLSearchParams(f.rule ? { rule: f.rule } : {});
    source = new EventSource(`/v1/alerts/stream?${params}`);
    source.addEventListener("open", () => {
      live.dataset.state = "live";
      live.textContent = "live";
    });
    source.addEventListener("error", () => {
      live.dataset.state = "down";
      live.textContent = "reconnecting…";
    });
    source.addEventListener("alert", (event) => {
      const alert = JSON.parse(event.data);
      if (shown.has(alert.cursor) || !passes(alert, filters())) return;
      shown.add(alert.cursor);
      timeline.prepend(item(alert, true));
      empty.hidden = true;
    });
  }

  async function show(cursorId, li) {
    if (selected) selected.setAttribute("aria-selected", "false");
    selected = li || null;
    if (selected) selected.setAttribute("aria-selected", "true");
    history.replaceState(null, "", `#${cursorId}`);
    detail.hidden = false;
    clear(detail).append(el("p", { class: "muted" }, "Loading…"));
    let data;
    try {
      data = await api("GET", `/v1/alerts/${encodeURIComponent(cursorId)}`);
    } catch (error) {
      clear(detail).append(el("p", { class: "error" }, error.message));
      return;
    }
    const { alert, article, story, deliveries } = data;
    const parts = [...new Set(alert.evidence.map((e) => e.part))];
    clear(detail).append(
      el("div", { class: "page-head" }, el("h2", {}, alert.rule.title || alert.rule.id), badge(alert.rule.severity)),
      el(
        "p",
        { class: "muted" },
        alert.article.source || "",
        alert.article.published ? " · published " : "",
        alert.article.published ? timeEl(alert.article.published) : "",
        " · raised ",
        timeEl(alert.created_at),
        alert.article.url ? " · " : "",
        alert.article.url ? el("a", { href: alert.article.url, rel: "noopener noreferrer nofollow", target: "_blank" }, "original") : ""
      ),
      el("p", {}, tags(alert.rule.tags)),
      el("h3", {}, "Evidence"),
      el("p", { class: "muted" }, parts.map((p) => el("span", { class: "tag" }, p))),
      articleView(article || { title: alert.article.title }, alert.evidence),
      article ? null : el("p", { class: "muted" }, "The article's text is no longer stored; the evidence's snippets:"),
      article ? null : el("ul", {}, alert.evidence.map((e) => el("li", {}, `${e.part}: `, e.snippet))),
      el("h3", {}, "Story"),
      el(
        "p",
        {},
        story.sources.length
          ? `Carried by ${story.sources.length} outlet${story.sources.length > 1 ? "s" : ""}: ${story.sources.join(", ")}`
          : "Only this outlet so far."
      ),
      el("h3", {}, "Deliveries"),
      deliveries.length
        ? el(
            "div",
            { class: "table-wrap" },
            el(
              "table",
              { class: "table" },
              el("thead", {}, el("tr", {}, ["Subscription", "Channel", "Status", "Attempts", "Last"].map((h) => el("th", { scope: "col" }, h)))),
              el(
                "tbody",
                {},
                deliveries.map((d) =>
                  el(
                    "tr",
                    {},
                    el("td", {}, d.subscription),
                    el("td", {}, d.channel),
                    el("td", {}, d.status),
                    el("td", { class: "num" }, String(d.attempts)),
                    el("td", {}, d.last_status ? String(d.last_status) : "", d.last_error ? ` ${d.last_error}` : "")
                  )
                )
              )
            )
          )
        : el("p", { class: "muted" }, "No subscription received this alert.")
    );
  }

  async function ruleOptions() {
    try {
      const rules = await api("GET", "/v1/rules");
      const select = document.getElementById("f-rule");
      const tagList = document.getElementById("tags");
      const allTags = new Set();
      for (const rule of rules.items) {
        select.append(el("option", { value: rule.id }, rule.title || rule.id));
        for (const t of rule.tags) allTags.add(t);
      }
      for (const t of [...allTags].sort()) tagList.append(el("option", { value: t }));
    } catch (error) {
      toast(error.message, true);
    }
  }

  more.addEventListener("click", () => load(false));
  form.addEventListener("change", () => {
    load(true);
    connect();
  });
  form.addEventListener("reset", () => setTimeout(() => form.dispatchEvent(new Event("change")), 0));
  form.addEventListener("submit", (e) => e.preventDefault());
  ruleOptions();
  load(true).then(() => {
    const hash = location.hash.slice(1);
    if (/^\d+-\d+$/.test(hash)) show(hash, timeline.querySelector(`[data-cursor="${hash}"]`));
  });
  connect();
})();
