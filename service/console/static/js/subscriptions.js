/* Subscriptions: create, edit, pause, delete; the webhook secret shown once; a test event through
   the real delivery path; each subscription's delivery log, and redelivery of dead letters.
   Everything goes through the /v1 API; text from the service only ever goes in text nodes. */
"use strict";
(function () {
  const { el, api, clear, toast, badge, tags, timeEl } = window.ga;
  const body = document.querySelector("#subs-table tbody");
  const status = document.getElementById("subs-status");
  const dialog = document.getElementById("sub-dialog");
  const form = document.getElementById("sub-form");
  const nameInput = document.getElementById("sub-name");
  const channelSelect = document.getElementById("sub-channel");
  const targetInput = document.getElementById("sub-target");
  const targetLabel = document.getElementById("target-label");
  const rulesBox = document.getElementById("sub-rules");
  const severitySelect = document.getElementById("sub-severity");
  const formError = document.getElementById("sub-error");
  const logSection = document.getElementById("log");
  const logBody = document.querySelector("#log-table tbody");
  const logTitle = document.getElementById("log-title");
  let rules = [];
  let editing = null; // the subscription being edited, or null for a new one
  let showingLog = null;

  const TARGETS = {
    webhook: ["Webhook URL", "https://example.org/hook"],
    email: ["Email addresses (comma-separated)", "analyst@example.org"],
    apprise: ["Apprise URL", "ntfy://ntfy.sh/my-topic"],
    console: ["", ""],
  };

  function describeTarget(sub) {
    if (sub.webhook) return sub.webhook.url;
    if (sub.email) return sub.email.to.join(", ");
    if (sub.apprise) return sub.apprise.urls.join(", ");
    return "the service's log";
  }

  function state(sub) {
    if (sub.disabled_reason) return el("span", { class: "badge bad", title: sub.disabled_reason }, "disabled");
    if (!sub.enabled) return el("span", { class: "badge" }, "paused");
    if (sub.snoozed) return el("span", { class: "badge" }, "snoozed");
    return el("span", { class: "badge ok" }, "active");
  }

  function action(label, handler, attrs) {
    return el("button", Object.assign({ type: "button", class: "ghost small", onclick: handler }, attrs || {}), label);
  }

  function row(sub) {
    const actions = el("div", { class: "actions" });
    if (sub.read_only) {
      actions.append(el("span", { class: "muted", title: "declared in the subscriptions file: edit the file" }, "from file"));
    } else {
      actions.append(
        action("Edit", () => openDialog(sub), { "aria-label": `Edit ${sub.name}` }),
        action(sub.enabled ? "Pause" : "Resume", () => setEnabled(sub, !sub.enabled), { "aria-label": `${sub.enabled ? "Pause" : "Resume"} ${sub.name}` }),
        action("Delete", () => remove(sub), { "aria-label": `Delete ${sub.name}` })
      );
    }
    actions.append(
      action("Send test", () => sendTest(sub), { "aria-label": `Send a test event to ${sub.name}`, disabled: !sub.enabled }),
      action("Deliveries", () => showLog(sub), { "aria-label": `Deliveries of ${sub.name}` })
    );
    return el(
      "tr",
      { "data-sub": sub.id, "data-name": sub.name },
      el("td", {}, sub.name, sub.read_only ? el("span", { class: "sub" }, "subscriptions file (read-only)") : null),
      el("td", {}, sub.channel, el("span", { class: "sub mono" }, describeTarget(sub))),
      el("td", {}, sub.rules.length ? sub.rules.map((r) => el("span", { class: "tag" }, r)) : el("span", { class: "muted" }, "every rule")),
      el("td", { class: "hide-narrow" }, badge(sub.min_severity)),
      el("td", {}, state(sub)),
      el("td", {}, actions)
    );
  }

  async function load() {
    let subs;
    try {
      subs = await api("GET", "/v1/subscriptions");
    } catch (error) {
      toast(`Subscriptions could not be loaded: ${error.message}`, true);
      return;
    }
    clear(body);
    for (const sub of subs.items) body.append(row(sub));
    if (!subs.items.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No subscriptions yet.")));
    status.textContent = `${subs.items.length} subscription${subs.items.length === 1 ? "" : "s"}`;
    document.body.dataset.loaded = "true";
  }

  async function loadRules() {
    try {
      rules = (await api("GET", "/v1/rules")).items;
    } catch (error) {
      rules = [];
    }
  }

  /* -- create and edit ----------------------------------------------------------------- */

  function setChannel(channel) {
    const [label, placeholder] = TARGETS[channel];
    targetLabel.hidden = channel === "console";
    targetLabel.firstChild.textContent = `${label} `;
    targetInput.placeholder = placeholder;
    targetInput.required = channel !== "console";
  }
  channelSelect.addEventListener("change", () => {
    setChannel(channelSelect.value);
    if (editing && editing.channel !== channelSelect.value) targetInput.placeholder = TARGETS[channelSelect.value][1];
  });

  function openDialog(sub) {
    editing = sub || null;
    document.getElementById("sub-dialog-title").textContent = sub ? `Edit ${sub.name}` : "New subscription";
    formError.textContent = "";
    nameInput.value = sub ? sub.name : "";
    channelSelect.value = sub ? sub.channel : "webhook";
    targetInput.value = sub && !sub.apprise && !sub.webhook ? (sub.email ? sub.email.to.join(", ") : "") : "";
    targetInput.placeholder = "";
    setChannel(channelSelect.value);
    if (sub && (sub.webhook || sub.apprise)) {
      // the URL is a secret (or holds one): left blank, it stays as it is
      targetInput.placeholder = "unchanged (type a new one to replace it)";
      targetInput.required = false;
    }
    severitySelect.value = sub ? sub.min_severity : "info";
    clear(rulesBox);
    const chosen = new Set(sub ? sub.rules : []);
    for (const rule of rules) {
      rulesBox.append(
        el(
          "label",
          {},
          el("input", { type: "checkbox", value: rule.id, checked: chosen.has(rule.id), "aria-label": rule.title || rule.id }),
          rule.title || rule.id,
          tags(rule.tags)
        )
      );
    }
    for (const tag of [...new Set(rules.flatMap((r) => r.tags))].sort()) {
      const pattern = `tag:${tag}`;
      rulesBox.append(el("label", {}, el("input", { type: "checkbox", value: pattern, checked: chosen.has(pattern) }), el("span", { class: "tag" }, pattern)));
    }
    dialog.showModal();
    nameInput.focus();
  }

  function target(channel, value) {
    if (channel === "webhook") return { url: value.trim() };
    if (channel === "email") return { to: value.split(",").map((s) => s.trim()).filter(Boolean) };
    if (channel === "apprise") return { urls: [value.trim()] };
    return {};
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const channel = channelSelect.value;
    const chosen = [...rulesBox.querySelectorAll("input:checked")].map((i) => i.value);
    const data = { name: nameInput.value.trim(), rules: chosen, min_severity: severitySelect.value };
    const keepTarget = editing && editing.channel === channel && !targetInput.value.trim() && (editing.webhook || editing.apprise);
    if (!keepTarget) data[channel] = target(channel, targetInput.value);
    let saved;
    try {
      saved = editing
        ? await api("PATCH", `/v1/subscriptions/${encodeURIComponent(editing.id)}`, data)
        : await api("POST", "/v1/subscriptions", data);
    } catch (error) {
      const fields = (error.body && error.body.error && error.body.error.fields) || [];
      formError.textContent = [error.message, ...fields.map((f) => `${f.field}: ${f.message}`)].join(" · ");
      return;
    }
    dialog.close();
    if (saved.secret) showSecret(saved.secret);
    toast(editing ? `Saved ${saved.name}.` : `Created ${saved.name}.`);
    await load();
  });
  document.getElementById("sub-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("new-sub").addEventListener("click", () => openDialog(null));

  /* The signing secret is in the create (or re-key) response only: shown once, never again. */
  const secretBox = document.getElementById("secret-box");
  const secretValue = document.getElementById("secret-value");
  function showSecret(secret) {
    secretValue.textContent = secret;
    secretBox.hidden = false;
    secretBox.scrollIntoView({ block: "nearest" });
  }
  document.getElementById("secret-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secretValue.textContent);
      toast("Secret copied.");
    } catch (error) {
      toast(`Could not copy: ${error.message}`, true);
    }
  });
  document.getElementById("secret-done").addEventListener("click", () => {
    secretValue.textContent = "";
    secretBox.hidden = true;
  });

  /* -- pause, delete, test --------------------------------------------------------------- */

  async function setEnabled(sub, enabled) {
    try {
      await api("PATCH", `/v1/subscriptions/${encodeURIComponent(sub.id)}`, { enabled });
      toast(`${sub.name} ${enabled ? "resumed" : "paused"}.`);
    } catch (error) {
      toast(error.message, true);
    }
    await load();
  }

  async function remove(sub) {
    if (!confirm(`Delete the subscription ${sub.name}? Its pending deliveries are cancelled.`)) return;
    try {
      await api("DELETE", `/v1/subscriptions/${encodeURIComponent(sub.id)}`);
      toast(`Deleted ${sub.name}.`);
    } catch (error) {
      toast(error.message, true);
    }
    if (showingLog && showingLog.id === sub.id) logSection.hidden = true;
    await load();
  }

  async function sendTest(sub) {
    try {
      await api("POST", `/v1/subscriptions/${encodeURIComponent(sub.id)}/test`);
      toast(`Test event queued for ${sub.name}; its delivery shows below.`);
    } catch (error) {
      toast(error.message, true);
      return;
    }
    await showLog(sub);
    setTimeout(() => showingLog && showingLog.id === sub.id && showLog(sub), 1500);
  }

  /* -- the delivery log ------------------------------------------------------------------ */

  async function showLog(sub) {
    showingLog = sub;
    logSection.hidden = false;
    logTitle.textContent = `Deliveries of ${sub.name}`;
    let page;
    try {
      page = await api("GET", `/v1/subscriptions/${encodeURIComponent(sub.id)}/deliveries`);
    } catch (error) {
      toast(`Deliveries could not be loaded: ${error.message}`, true);
      return;
    }
    clear(logBody);
    for (const d of page.items) {
      const answer = d.last_status ? `HTTP ${d.last_status}` : "";
      const redeliver =
        d.status === "dead" || d.status === "delivered"
          ? action("Redeliver", () => redeliverOne(d), { "aria-label": `Redeliver ${d.rule || d.id}` })
          : null;
      logBody.append(
        el(
          "tr",
          { "data-delivery": d.id, "data-status": d.status },
          el("td", {}, timeEl(d.created_at)),
          el("td", {}, d.rule || d.kind),
          el("td", {}, el("span", { class: `badge ${d.status === "dead" ? "bad" : d.status === "delivered" ? "ok" : ""}` }, d.status)),
          el("td", { class: "num" }, String(d.attempts)),
          el("td", {}, answer, d.last_error ? el("span", { class: "sub" }, d.last_error) : null),
          el("td", { class: "hide-narrow" }, d.next_at ? timeEl(d.next_at, true) : ""),
          el("td", {}, redeliver)
        )
      );
    }
    if (!page.items.length) logBody.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No deliveries yet.")));
    logSection.dataset.loadedFor = sub.id;
  }
  document.getElementById("log-refresh").addEventListener("click", () => showingLog && showLog(showingLog));

  async function redeliverOne(delivery) {
    try {
      await api("POST", `/v1/deliveries/${encodeURIComponent(delivery.id)}/redeliver`);
      toast("Queued again.");
    } catch (error) {
      toast(error.message, true);
    }
    if (showingLog) await showLog(showingLog);
  }

  loadRules().then(load);
})();
