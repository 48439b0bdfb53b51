/* Health: Redis, each stage's lag and pending entries, dead letters, the rules. */
"use strict";
(function () {
  const { el, clear } = window.ga;
  const grid = document.getElementById("health-grid");
  const status = document.getElementById("health-status");

  function kv(pairs) {
    return el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "—" : String(v))]));
  }

  async function load() {
    const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
    const health = await response.json();
    status.textContent = health.status;
    status.className = `badge ${health.status === "ok" ? "ok" : "bad"}`;
    clear(grid);
    grid.append(
      el("section", { class: "card", "aria-label": "Redis" }, el("h2", {}, "Redis"),
        kv(health.redis.ok ? [["reachable", "yes"], ["latency", `${health.redis.latency_ms} ms`]] : [["reachable", "no"], ["error", health.redis.error]]))
    );
    if (health.streams) {
      for (const name of ["articles", "alerts"]) {
        const s = health.streams[name];
        grid.append(
          el("section", { class: "card", "aria-label": `${name} stream` }, el("h2", {}, `${name} → ${s.group}`),
            kv([["entries", s.length], ["lag", s.lag], ["pending", s.pending], ["consumers", s.consumers], ["dead letters", s.dead_letters]]))
        );
      }
      const d = health.streams.deliveries;
      grid.append(
        el("section", { class: "card", "aria-label": "Deliveries" }, el("h2", {}, "Deliveries"),
          kv([["due or in flight", d.due_or_in_flight], ["dead letters", d.dead_letters]]),
          d.dead_letters ? el("p", {}, "Redeliver with POST /v1/deliveries/{id}/redeliver") : null)
      );
    }
    if (health.rules) {
      grid.append(
        el("section", { class: "card", "aria-label": "Rules" }, el("h2", {}, "Rules"),
          kv([["in use", health.rules.rules], ["rejected edits", health.rules.errors.length]]),
          health.rules.errors.length ? el("ul", { class: "problems" }, health.rules.errors.map((e) => el("li", {}, e))) : null)
      );
    }
    for (const warning of health.warnings || []) grid.append(el("section", { class: "card notice" }, warning));
    document.body.dataset.loaded = "true";
  }
  load();
  setInterval(load, 5000);
})();
