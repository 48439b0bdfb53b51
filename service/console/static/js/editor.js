/* The rule editor: YAML checked as you type by the service's own compiler, the rule's examples,
   Test (an article through the edit, with "why not"), Backtest (the edit over stored articles),
   and Save (or Download / Copy where the rules directory is read-only). Everything goes through
   the /v1 API; article text is only ever put in text nodes. */
"use strict";
(function () {
  const { el, api, clear, toast, articleView } = window.ga;
  const heading = document.getElementById("editor-title");
  const ruleId = heading.dataset.rule;
  const status = document.getElementById("editor-status");
  const problemsList = document.getElementById("problems");
  const examplesList = document.getElementById("examples");
  const examplesSummary = document.getElementById("examples-summary");
  const saveButton = document.getElementById("save");
  const CHECK_DELAY_MS = 350;
  const NEW_RULE = `id: ${ruleId}
title: ${ruleId.replace(/_/g, " ")}
description: |
  What the rule is about, and what it does not count.
severity: medium
tags: []
parts:
  event:
    any: [~meet]
  leaders:
    entity: leaders
    in_office: true
    min: 2
condition: sentence(event, leaders)
examples:
  match: []
  no_match: []
`;

  const editor = window.CodeMirror.fromTextArea(document.getElementById("yaml"), {
    mode: "yaml",
    lineNumbers: true,
    lineWrapping: true,
    indentUnit: 2,
    tabSize: 2,
    gutters: ["CodeMirror-linenumbers", "problem-gutter"],
    extraKeys: { Tab: (cm) => cm.replaceSelection("  ") },
  });
  editor.getInputField().setAttribute("aria-label", "Rule YAML");

  let savedText = "";
  let checks = 0;
  let timer = null;
  let marked = [];
  let sound = false;

  function setStatus(text) {
    status.textContent = text;
  }

  /* -- checking as you type ------------------------------------------------------------ */

  function clearMarks() {
    for (const line of marked) {
      editor.setGutterMarker(line, "problem-gutter", null);
      editor.removeLineClass(line, "background", "line-error");
    }
    marked = [];
  }

  function showProblems(problems) {
    clearMarks();
    clear(problemsList);
    for (const p of problems) {
      if (p.in_this_file) {
        const line = Math.max(0, Math.min(p.line - 1, editor.lineCount() - 1));
        const marker = el("span", { class: "gutter-error", title: p.message, "data-line": p.line }, "●");
        editor.setGutterMarker(line, "problem-gutter", marker);
        editor.addLineClass(line, "background", "line-error");
        marked.push(line);
        const item = el("li", { "data-line": p.line, tabindex: "0" }, `line ${p.line}:${p.col}: ${p.message}`);
        const go = () => {
          editor.setCursor({ line, ch: Math.max(0, p.col - 1) });
          editor.focus();
        };
        item.addEventListener("click", go);
        item.addEventListener("keydown", (e) => e.key === "Enter" && go());
        problemsList.append(item);
      } else {
        problemsList.append(el("li", {}, `${p.path}:${p.line}:${p.col}: ${p.message}`));
      }
    }
  }

  function showExamples(examples) {
    clear(examplesList);
    const failed = examples.filter((e) => !e.passed).length;
    examplesSummary.textContent = examples.length
      ? `${examples.length - failed} of ${examples.length} examples pass`
      : "No examples yet: add some under examples: match / no_match.";
    for (const e of examples) {
      examplesList.append(
        el(
          "li",
          { class: e.passed ? "pass" : "fail", "data-kind": e.kind },
          `${e.kind === "match" ? "should match" : "should not match"} #${e.number} (line ${e.line}): `,
          el("span", { class: "muted" }, e.excerpt)
        )
      );
    }
    return failed;
  }

  async function check() {
    const seq = ++checks;
    const yaml = editor.getValue();
    setStatus("checking…");
    let result;
    try {
      result = await api("POST", "/v1/rules/validate", { rule: ruleId, yaml });
    } catch (error) {
      if (seq === checks) setStatus(`not checked: ${error.message}`);
      return;
    }
    if (seq !== checks) return; // a newer edit is being checked
    showProblems(result.problems);
    const failed = showExamples(result.examples);
    if (result.problems.length && !result.examples.length) examplesSummary.textContent = "Examples run once the rule compiles.";
    sound = result.ok;
    if (saveButton) saveButton.disabled = !sound || yaml === savedText;
    const changed = yaml === savedText ? "" : " (not saved)";
    if (result.problems.length) setStatus(`${result.problems.length} problem${result.problems.length > 1 ? "s" : ""}${changed}`);
    else if (failed) setStatus(`${failed} example${failed > 1 ? "s" : ""} failing${changed}`);
    else setStatus(`compiles, every example passes${changed}`);
    document.body.dataset.checked = String(seq);
  }

  editor.on("change", () => {
    delete document.body.dataset.checked;
    clearTimeout(timer);
    timer = setTimeout(check, CHECK_DELAY_MS);
  });

  async function load() {
    try {
      const source = await api("GET", `/v1/rules/${encodeURIComponent(ruleId)}/source`);
      savedText = source.yaml;
    } catch (error) {
      if (error.status !== 404) {
        setStatus(`could not load: ${error.message}`);
        return;
      }
      savedText = "";
      editor.setValue(NEW_RULE);
      check();
      return;
    }
    editor.setValue(savedText);
    editor.clearHistory();
    check();
  }

  /* -- save, or download / copy where saving is off ----------------------------------- */

  if (saveButton) {
    saveButton.addEventListener("click", async () => {
      const yaml = editor.getValue();
      saveButton.disabled = true;
      setStatus("saving…");
      try {
        await api("PUT", `/v1/rules/${encodeURIComponent(ruleId)}`, { yaml });
      } catch (error) {
        const fields = (error.body && error.body.error && error.body.error.fields) || [];
        setStatus(`not saved: ${error.message}`);
        toast(`Not saved: ${[error.message, ...fields.map((f) => `${f.field}: ${f.message}`)].join("; ")}`, true);
        saveButton.disabled = !sound;
        return;
      }
      savedText = yaml;
      setStatus("saved; the matchers pick it up within seconds");
      toast("Saved. The previous version is kept in the rules' history.");
      document.body.dataset.saved = "true";
    });
  }
  const download = document.getElementById("download");
  if (download) {
    download.addEventListener("click", () => {
      const url = URL.createObjectURL(new Blob([editor.getValue()], { type: "application/yaml" }));
      const link = el("a", { href: url, download: `${ruleId}.yaml` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
  }
  const copy = document.getElementById("copy");
  if (copy) {
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(editor.getValue());
        toast("Copied as YAML.");
      } catch (error) {
        toast(`Could not copy: ${error.message}`, true);
      }
    });
  }
  document.getElementById("revert").addEventListener("click", () => {
    if (savedText) editor.setValue(savedText);
  });

  /* -- tabs ---------------------------------------------------------------------------- */

  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) {
        other.setAttribute("aria-selected", String(other === tab));
        document.getElementById(other.getAttribute("aria-controls")).hidden = other !== tab;
      }
    });
  }

  /* -- test: one article through the edit, and why not ------------------------------- */

  const pick = document.getElementById("test-pick");
  const testResult = document.getElementById("test-result");
  const titleInput = document.getElementById("test-title");
  const bodyInput = document.getElementById("test-body");
  const publishedInput = document.getElementById("test-published");

  async function loadStored() {
    try {
      const page = await api("GET", "/v1/articles?limit=50");
      for (const a of page.items) pick.append(el("option", { value: a.entry }, a.title || a.id));
    } catch (error) {
      pick.disabled = true;
    }
  }
  pick.addEventListener("change", async () => {
    if (!pick.value) return;
    try {
      const a = await api("GET", `/v1/articles/${encodeURIComponent(pick.value)}`);
      titleInput.value = a.title || "";
      bodyInput.value = [a.summary, a.body].filter(Boolean).join("\n\n");
      publishedInput.value = a.published ? a.published.slice(0, 10) : "";
    } catch (error) {
      toast(`Article could not be loaded: ${error.message}`, true);
    }
  });

  function heldEvidence(explained) {
    const out = [];
    for (const route of explained.routes) {
      if (!route.held) continue;
      for (const w of route.windows) if (w.held) out.push(...w.occurrences);
      break;
    }
    return out;
  }

  function whyNot(explained) {
    const box = el("div", { class: "why-not" });
    if (!explained.candidate) {
      box.append(el("p", {}, "Not a candidate: none of the rule's anchor terms occurs in the article."));
    }
    const found = Object.entries(explained.parts || {});
    if (found.length) box.append(el("p", { class: "muted" }, "Parts found: ", found.map(([p, n]) => `${p} ${n}`).join(", ")));
    for (const v of explained.guarded || []) {
      box.append(
        el("p", { class: "veto" }, `Guard ${v.guard} (${v.scope}) vetoed ${v.part} “${v.occurrence.text}” by “${v.by.text}”.`)
      );
    }
    const routes = el("ul", { class: "routes" });
    for (const route of explained.routes) {
      const windows = el("ul", {});
      for (const w of route.windows.slice(0, 6)) {
        const why = w.held ? "held" : w.vetoed_by ? `vetoed by ${w.vetoed_by}` : `missing ${w.missing}`;
        windows.append(el("li", {}, el("span", { class: "mono" }, `${w.scope} ${w.field || ""}: ${why}`), el("div", { class: "muted" }, w.text)));
      }
      routes.append(
        el("li", {}, el("strong", {}, route.route || "condition"), ": ", route.held ? "held" : `failed: ${route.failed || "no window held"}`, windows)
      );
    }
    box.append(routes);
    return box;
  }

  document.getElementById("test-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const article = { title: titleInput.value, body: bodyInput.value };
    if (publishedInput.value) article.published = `${publishedInput.value}T12:00:00Z`;
    clear(testResult).append(el("p", { class: "muted" }, "Testing…"));
    let result;
    try {
      result = await api("POST", "/v1/rules/explain", Object.assign(article, { rules: [ruleId], yaml: editor.getValue() }));
    } catch (error) {
      clear(testResult).append(el("p", { class: "error" }, error.message));
      return;
    }
    const [explained] = result.rules;
    clear(testResult);
    if (explained.matched) {
      testResult.append(
        el("p", { class: "added", id: "test-verdict", "data-matched": "true" }, `Matches${explained.route ? ` (route ${explained.route})` : ""}.`),
        articleView(article, heldEvidence(explained))
      );
    } else {
      testResult.append(el("p", { class: "removed", id: "test-verdict", "data-matched": "false" }, "No match. Why not:"), whyNot(explained));
    }
  });

  /* -- backtest: the edit over stored articles, streamed, cancellable ----------------- */

  const runButton = document.getElementById("backtest-run");
  const cancelButton = document.getElementById("backtest-cancel");
  const progress = document.getElementById("backtest-progress");
  const backtestStatus = document.getElementById("backtest-status");
  const backtestResult = document.getElementById("backtest-result");
  let running = null;

  function alertList(items, kind) {
    return el(
      "ul",
      { class: "diff-list", "data-kind": kind },
      items.map((a) =>
        el(
          "li",
          { tabindex: "0", "data-entry": a.entry },
          el("a", { href: `#article-${a.entry}`, class: kind }, kind === "added" ? "+ " : "− ", a.article.title || a.article.id)
        )
      )
    );
  }

  async function showArticle(entry) {
    try {
      const a = await api("GET", `/v1/articles/${encodeURIComponent(entry)}`);
      const box = el("div", { class: "card", id: "backtest-article" }, articleView(a, []));
      const old = document.getElementById("backtest-article");
      if (old) old.remove();
      backtestResult.append(box);
    } catch (error) {
      toast(`Article could not be loaded: ${error.message}`, true);
    }
  }
  backtestResult.addEventListener("click", (event) => {
    const item = event.target.closest("li[data-entry]");
    if (!item) return;
    event.preventDefault();
    showArticle(item.dataset.entry);
  });

  function showBacktest(r) {
    clear(backtestResult).append(
      el(
        "p",
        { id: "backtest-summary" },
        `${r.scanned.toLocaleString()} articles: the rule in use raises ${r.before}, the edit ${r.after}. `,
        el("span", { class: "added" }, `${r.added_count} added`),
        ", ",
        el("span", { class: "removed" }, `${r.removed_count} removed`),
        r.complete ? "." : " (stopped at the article limit)."
      ),
      el("h3", {}, "Added by the edit"),
      r.added.length ? alertList(r.added, "added") : el("p", { class: "muted" }, "none"),
      el("h3", {}, "No longer raised"),
      r.removed.length ? alertList(r.removed, "removed") : el("p", { class: "muted" }, "none")
    );
  }

  runButton.addEventListener("click", async () => {
    const controller = new AbortController();
    running = controller;
    runButton.disabled = true;
    cancelButton.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    backtestStatus.textContent = "starting…";
    clear(backtestResult);
    const body = { rule: ruleId, yaml: editor.getValue() };
    const since = document.getElementById("backtest-since").value;
    if (since) body.since = since;
    try {
      const response = await fetch("/v1/rules/backtest", {
        method: "POST",
        credentials: "same-origin",
        signal: controller.signal,
        headers: {
          "Content-Type": "application/json",
          Accept: "application/x-ndjson",
          "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content,
        },
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error((data.error && data.error.message) || `HTTP ${response.status}`);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line.trim()) continue;
          const message = JSON.parse(line);
          if (message.type === "progress") {
            progress.max = Math.max(1, message.total);
            progress.value = message.scanned;
            backtestStatus.textContent = `${message.scanned.toLocaleString()} of ${message.total.toLocaleString()} articles`;
          } else if (message.type === "result") {
            progress.value = progress.max;
            backtestStatus.textContent = `done in ${message.seconds} s`;
            showBacktest(message);
          } else if (message.type === "error") {
            throw new Error(message.message || "the backtest failed");
          }
        }
      }
    } catch (error) {
      backtestStatus.textContent = error.name === "AbortError" ? "cancelled" : `failed: ${error.message}`;
    } finally {
      running = null;
      runButton.disabled = false;
      cancelButton.hidden = true;
    }
  });
  cancelButton.addEventListener("click", () => running && running.abort());

  load();
  loadStored();
})();
