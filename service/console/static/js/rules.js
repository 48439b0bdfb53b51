/* Rules: every rule with its severity, tags, examples and recent alert counts. */
"use strict";
(function () {
  const { el, api, badge, tags, clear, toast } = window.ga;
  const body = document.querySelector("#rules-table tbody");
  const status = document.getElementById("rules-status");

  async function load() {
    let rules, activity;
    try {
      [rules, activity] = await Promise.all([api("GET", "/v1/rules"), api("GET", "/v1/rules/activity")]);
    } catch (error) {
      toast(`Rules could not be loaded: ${error.message}`, true);
      return;
    }
    const byRule = Object.fromEntries(activity.items.map((a) => [a.rule, a]));
    clear(body);
    for (const rule of rules.items) {
      const a = byRule[rule.id] || { alerts_day: 0, alerts_week: 0, examples: 0, examples_failed: 0 };
      const passed = a.examples - a.examples_failed;
      body.append(
        el(
          "tr",
          { "data-rule": rule.id },
          el(
            "td",
            {},
            el("a", { href: `/rules/${encodeURIComponent(rule.id)}`, "aria-label": `Edit ${rule.title || rule.id}` }, rule.title || rule.id),
            el("span", { class: "sub mono" }, rule.id),
            rule.description ? el("span", { class: "sub" }, rule.description.split("\n\n")[0]) : null
          ),
          el("td", {}, badge(rule.severity)),
          el("td", {}, tags(rule.tags)),
          el(
            "td",
            { class: "examples-cell" },
            el("span", { class: `badge ${a.examples_failed ? "bad" : "ok"}` }, `${passed}/${a.examples} pass`)
          ),
          el("td", { class: "num" }, String(a.alerts_day)),
          el("td", { class: "num" }, String(a.alerts_week))
        )
      );
    }
    status.textContent = `${rules.items.length} rules`;
    const errors = document.getElementById("rule-errors");
    clear(errors);
    if (rules.errors.length) {
      errors.append(
        el(
          "div",
          { class: "notice" },
          el("strong", {}, "A rule edit on disk was rejected; the last good rules are running:"),
          el("ul", {}, rules.errors.map((e) => el("li", { class: "mono" }, e)))
        )
      );
    }
    document.body.dataset.loaded = "true";
  }
  const form = document.getElementById("new-rule");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const id = document.getElementById("new-rule-id").value.trim();
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(id)) {
        toast("A rule id is a lowercase letter, then a-z, 0-9 or _ (it names the file).", true);
        return;
      }
      location.href = `/rules/${id}`;
    });
  }
  load();
})();
