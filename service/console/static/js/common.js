/* geoalert console: what every page shares. Text from the service is only ever put in text nodes. */
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  /* el("a", {href: "/x", class: "y"}, "text", child...) -> an element; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, body) {
      const message = (body && body.error && body.error.message) || `HTTP ${status}`;
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body, options) {
    const init = Object.assign({ method, headers: { Accept: "application/json" }, credentials: "same-origin" }, options || {});
    if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 204) return null;
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /* Text with [start, end) ranges marked: built of text nodes and <mark>s, never parsed as HTML. */
  function highlight(text, ranges) {
    const fragment = document.createDocumentFragment();
    const sorted = ranges
      .filter((r) => r.start >= 0 && r.end > r.start && r.start < text.length)
      .sort((a, b) => a.start - b.start || b.end - a.end);
    let at = 0;
    for (const range of sorted) {
      if (range.end <= at) continue;
      const start = Math.max(range.start, at);
      const end = Math.min(range.end, text.length);
      if (start > at) fragment.append(document.createTextNode(text.slice(at, start)));
      const mark = el("mark", { "data-part": range.part, title: range.part ? `${range.part}: ${range.term || ""}` : null }, text.slice(start, end));
      fragment.append(mark);
      at = end;
    }
    if (at < text.length) fragment.append(document.createTextNode(text.slice(at)));
    return fragment;
  }

  /* An article's title, summary and body with its evidence highlighted in place. */
  function articleView(article, evidence) {
    const box = el("div", { class: "article-text" });
    for (const field of ["title", "summary", "body"]) {
      const text = article[field] || "";
      if (!text) continue;
      const ranges = (evidence || []).filter((e) => e.field === field);
      const tag = field === "title" ? "h3" : "p";
      box.append(el(tag, { class: `field-${field}`, "data-field": field }, highlight(text, ranges)));
    }
    return box;
  }

  function time(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
  function ago(value) {
    if (!value) return "never";
    const seconds = (Date.now() - new Date(value).getTime()) / 1000;
    const abs = Math.abs(seconds);
    const [n, unit] = abs < 60 ? [abs, "s"] : abs < 3600 ? [abs / 60, "min"] : abs < 86400 ? [abs / 3600, "h"] : [abs / 86400, "d"];
    const text = `${Math.round(n)} ${unit}`;
    return seconds >= 0 ? `${text} ago` : `in ${text}`;
  }
  function timeEl(value, relative) {
    return el("time", { datetime: value || "", title: value ? time(value) : null }, relative ? ago(value) : time(value));
  }
  function badge(severity) {
    return el("span", { class: `badge sev-${severity}` }, severity);
  }
  function tags(list) {
    return (list || []).map((t) => el("span", { class: "tag" }, t));
  }
  function toast(message, bad) {
    const box = document.getElementById("toast");
    const item = el("div", { class: bad ? "bad" : "" }, message);
    box.append(item);
    setTimeout(() => item.remove(), bad ? 8000 : 4000);
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  const SEVERITY = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

  /* Dark or light: the system's choice unless the toggle says otherwise. */
  function setupTheme() {
    const root = document.documentElement;
    const saved = localStorage.getItem("geoalert-theme");
    if (saved) root.dataset.theme = saved;
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    button.addEventListener("click", () => {
      const dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
      root.dataset.theme = dark ? "light" : "dark";
      localStorage.setItem("geoalert-theme", root.dataset.theme);
    });
  }
  setupTheme();

  window.ga = { el, append, api, ApiError, highlight, articleView, time, ago, timeEl, badge, tags, toast, clear, SEVERITY };
})();
