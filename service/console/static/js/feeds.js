/* Feeds: the polling state of each feed, with a sparkline of new articles per hour. */
"use strict";
(function () {
  const { el, api, timeEl, clear, toast } = window.ga;
  const body = document.querySelector("#feeds-table tbody");
  const SVG = "http://www.w3.org/2000/svg";

  function sparkline(values) {
    const width = 120, height = 26;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    const total = values.reduce((a, b) => a + b, 0);
    svg.setAttribute("aria-label", `${total} new articles in the last ${values.length} hours`);
    const max = Math.max(1, ...values);
    const step = width / Math.max(1, values.length - 1);
    const points = values.map((v, i) => [i * step, height - 2 - (v / max) * (height - 4)]);
    const line = points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    const area = document.createElementNS(SVG, "path");
    area.setAttribute("class", "area");
    area.setAttribute("d", `${line} L${width},${height} L0,${height} Z`);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", line);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${total} new in ${values.length} h`;
    svg.append(title, area, path);
    return svg;
  }

  function statusBadge(feed) {
    const kind = feed.status === "ok" || feed.status === "not modified" ? "ok" : feed.failing || feed.status === "error" ? "bad" : "warn";
    return el("span", { class: `badge ${kind}` }, feed.status);
  }

  async function load() {
    let data;
    try {
      data = await api("GET", "/v1/feeds");
    } catch (error) {
      toast(`Feeds could not be loaded: ${error.message}`, true);
      return;
    }
    clear(body);
    for (const feed of data.feeds) {
      body.append(
        el(
          "tr",
          { "data-feed": feed.name },
          el("td", {}, el("strong", {}, feed.name), el("span", { class: "sub mono" }, feed.url)),
          el("td", {}, statusBadge(feed), feed.http_status ? el("span", { class: "sub" }, `HTTP ${feed.http_status}`) : null),
          el("td", {}, timeEl(feed.last_fetch, true)),
          el("td", { class: "num" }, String(feed.items_seen)),
          el("td", { class: "num" }, String(feed.new_articles)),
          el(
            "td",
            {},
            feed.consecutive_errors ? `${feed.consecutive_errors} in a row` : "none",
            feed.last_error ? el("span", { class: "sub" }, feed.last_error) : null,
            feed.warning ? el("span", { class: "sub" }, feed.warning) : null
          ),
          el("td", {}, feed.next_run ? timeEl(feed.next_run, true) : "—", el("span", { class: "sub" }, `every ${Math.round(feed.interval)} s`)),
          el("td", {}, sparkline(feed.items_per_hour || []))
        )
      );
    }
    document.getElementById("feeds-status").textContent = `${data.feeds.length} feeds`;
    const errors = document.getElementById("feed-errors");
    clear(errors);
    if (data.config_errors.length) {
      errors.append(el("div", { class: "notice" }, el("strong", {}, "The feeds file has problems; the last good version is in use:"), el("ul", {}, data.config_errors.map((e) => el("li", { class: "mono" }, e)))));
    }
    document.body.dataset.loaded = "true";
  }
  load();
  setInterval(load, 30000);
})();
