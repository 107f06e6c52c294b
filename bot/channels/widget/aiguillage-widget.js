/* Aiguillage web widget: plain JS, no dependency. Embed (see docs/channels.md for the options):
 * <script src="https://HOST/widget/aiguillage-widget.js" data-api="https://HOST" defer></script>
 * Message texts are inserted with textContent only; links only to tel:, sms:, mailto: and the
 * URLs the server lists in custom.links. */
(function () {
"use strict";
var script = document.currentScript;
if (!script || window.__aiguillageWidget) return;
window.__aiguillageWidget = true;

var src = new URL(script.src, location.href);
function opt(name, fallback) {
  var v = script.getAttribute("data-" + name);
  return v === null ? fallback : v;
}
var api = opt("api", src.origin).replace(/\/+$/, "");
var title = opt("title", "Trouver une aide");
var start = opt("start", "Bonjour");
var days = opt("retention", "30");
/* Full-page mode: data-mode="page" on the script, or ?mode=page in the page's address. */
var pageMode = opt("mode", "") === "page" || /[?&]mode=page(&|$)/.test(location.search);
var KEY = "aiguillage.conversation";
var LOG = "aiguillage.transcript";
var FB = "aiguillage.feedback";
var CONV = "/api/v1/conversations";
var PHONE = /(?:\+33[\s.]?|0)[1-9](?:[\s.-]?\d{2}){4}/g;
var EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
var URLS = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g;

function lum(rgb) {
  var c = rgb.map(function (v) {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}
/* The brand colour, darkened until white text on it reaches 4.5:1 (WCAG AA). */
function safeColor(value) {
  var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec((value || "").trim());
  var hex = m ? (m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1]) : "1d4e89";
  var rgb = [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
  while (1.05 / (lum(rgb) + 0.05) < 4.6) rgb = rgb.map(function (v) { return Math.floor(v * 0.9); });
  return "rgb(" + rgb.join(",") + ")";
}

function el(tag, props, kids) {
  var e = document.createElement(tag);
  Object.keys(props || {}).forEach(function (k) {
    var v = props[k];
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  });
  (kids || []).forEach(function (kid) { if (kid) e.appendChild(kid); });
  return e;
}

/* Icons drawn with SVG (no emoji font needed), hidden from screen readers. */
var PIN = "M12 2C8.1 2 5 5.1 5 9c0 5.3 7 13 7 13s7-7.7 7-13c0-3.9-3.1-7-7-7zm0 9.5a2.5 2.5 0 1 1 0-5 2.5 2.5 0 0 1 0 5z";
var BUBBLE = "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z";
function icon(d) {
  var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  var attrs = { viewBox: "0 0 24 24", width: 18, height: 18, "aria-hidden": "true", focusable: "false", class: "agw-icon" };
  Object.keys(attrs).forEach(function (k) { svg.setAttribute(k, attrs[k]); });
  var path = svg.appendChild(document.createElementNS(ns, "path"));
  path.setAttribute("d", d);
  path.setAttribute("fill", "currentColor");
  return svg;
}

function safeHref(url) {
  try { var u = new URL(url); } catch (e) { return null; }
  return ["https:", "http:", "tel:", "mailto:"].indexOf(u.protocol) >= 0 ? u.href : null;
}
function link(text, href) {
  var external = /^https?:/.test(href);
  return el("a", external ? { href: href, target: "_blank", rel: "noopener noreferrer", text: text }
    : { href: href, text: text });
}

/* Text with phone numbers, emails and known URLs turned into links — DOM nodes only. */
function rich(text, allowed) {
  var found = [];
  function scan(rx, make) {
    rx.lastIndex = 0;
    var m;
    while ((m = rx.exec(text))) found.push({ at: m.index, end: m.index + m[0].length, href: make(m[0]) });
  }
  scan(PHONE, function (s) { return "tel:" + s.replace(/[\s.-]/g, ""); });
  scan(EMAIL, function (s) { return "mailto:" + s; });
  scan(URLS, function (s) { return allowed[s] ? safeHref(s) : null; });
  found.sort(function (a, b) { return a.at - b.at; });
  var frag = document.createDocumentFragment();
  var pos = 0;
  found.forEach(function (f) {
    var before = text.charAt(f.at - 1);
    var after = text.charAt(f.end);
    if (!f.href || f.at < pos || /[\d\w@]/.test(before + after) && /^tel:/.test(f.href)) return;
    frag.appendChild(document.createTextNode(text.slice(pos, f.at)));
    frag.appendChild(link(text.slice(f.at, f.end), f.href));
    pos = f.end;
  });
  frag.appendChild(document.createTextNode(text.slice(pos)));
  return frag;
}

var root, launcher, panel, log, input, locBtn, copyBtn, shareBtn, status, typing, privacy;
var busy = false, opened = false, summary = "", generation = 0;
/* The panel covers the screen (phones, short or zoomed windows): it is modal, focus stays inside. */
var covering = window.matchMedia("(max-width: 480px), (max-height: 560px)");

function store(name, value) {
  try {
    if (value === null) sessionStorage.removeItem(name);
    else sessionStorage.setItem(name, value);
  } catch (e) { /* private mode: keep going without persistence */ }
}
function read(name) {
  try { return sessionStorage.getItem(name); } catch (e) { return null; }
}
function transcript() {
  try { return JSON.parse(read(LOG) || "[]"); } catch (e) { return []; }
}
function remember(entry) {
  var all = transcript();
  all.push(entry);
  store(LOG, JSON.stringify(all.slice(-60)));
}

function tell(text) { status.textContent = text; }
function scroll() { log.scrollTop = log.scrollHeight; }
function say(cls, who, content) {
  var msg = el("div", { class: "agw-msg " + cls }, [who ? el("span", { class: "agw-sr", text: who }) : null]);
  msg.appendChild(content);
  log.insertBefore(msg, typing);
  scroll();
  return msg;
}
function note(text) { say("agw-note", "", document.createTextNode(text)); }
function showUser(text, keep) {
  say("agw-user", "Vous : ", document.createTextNode(text));
  if (keep) remember({ w: "user", t: text });
}
function clearChoices() {
  var groups = log.querySelectorAll(".agw-qrs");
  var hadFocus = panel.contains(document.activeElement) && document.activeElement.className === "agw-qr";
  groups.forEach(function (g) { g.remove(); });
  if (hadFocus) input.focus();
}

function showReply(reply, withButtons) {
  var custom = reply.custom || {};
  var allowed = Object.create(null);
  var extra = [];
  (Array.isArray(custom.links) ? custom.links : []).forEach(function (l) {
    var url = typeof l === "string" ? l : l && l.url;
    var href = url && safeHref(url);
    if (!href) return;
    allowed[url] = true;
    if ((reply.text || "").indexOf(url) < 0) extra.push(el("li", {}, [link(l.title || url, href)]));
  });
  if (custom.emergency && Array.isArray(custom.numbers)) {
    custom.numbers.forEach(function (n) {
      if (!/^\d{2,4}$/.test(n)) return;
      var sms = n === "114"; /* 114: by text message, for deaf or hard-of-hearing people */
      extra.push(el("li", {}, [link((sms ? "Écrire au " : "Appeler le ") + n, (sms ? "sms:" : "tel:") + n)]));
    });
  }
  var msg = say("agw-bot", "Assistant : ", rich(reply.text || "", allowed));
  if (extra.length) msg.appendChild(el("ul", { class: "agw-links" }, extra));
  var buttons = reply.buttons || [];
  if (withButtons && buttons.length) {
    var group = el("div", { class: "agw-qrs", role: "group", "aria-label": "Réponses proposées" });
    buttons.forEach(function (b) {
      group.appendChild(el("button", { type: "button", class: "agw-qr", text: b.title,
        onclick: function () { send({ text: b.payload }, b.title); } }));
    });
    log.insertBefore(group, typing);
    scroll();
  }
  locBtn.classList.toggle("agw-hl", !!custom.request_location);
  if (custom.orientation && !read(FB)) askFeedback();
  if (custom.summary) {
    summary = typeof custom.summary === "string" ? custom.summary
      : custom.summary.text || JSON.stringify(custom.summary, null, 2);
    copyBtn.hidden = false;
    shareBtn.hidden = !navigator.share;
  }
}

function request(method, path, body) {
  return fetch(api + path, body ? { method: method, headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) } : { method: method });
}

function send(body, shown) {
  if (busy) return Promise.resolve();
  busy = true;
  typing.hidden = false;
  log.setAttribute("aria-busy", "true");
  clearChoices();
  if (shown) showUser(shown, true);
  var id = read(KEY), mine = generation;
  var path = id ? CONV + "/" + encodeURIComponent(id) + "/messages" : CONV;
  return request("POST", path, body)
    .then(function (res) {
      if (res.status !== 404 || !id) return res;
      store(KEY, null);
      note("La conversation précédente a expiré : une nouvelle commence.");
      return request("POST", CONV, body);
    })
    .then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (mine !== generation) { /* "Nouvelle conversation" meanwhile: drop what came back */
          if (data.conversation_id && !data.erased) drop(data.conversation_id);
          return;
        }
        if (!res.ok) {
          note(typeof data.detail === "string" ? data.detail : "Erreur " + res.status + ". Réessayez.");
          return;
        }
        if (data.erased) forget();
        else if (data.conversation_id) store(KEY, data.conversation_id);
        (data.replies || []).forEach(function (r, i, all) {
          showReply(r, i === all.length - 1);
          if (!data.erased) remember({ w: "bot", r: r });
        });
      });
    })
    .catch(function () { note("Connexion impossible. Vérifiez votre réseau et réessayez."); })
    .then(function () {
      if (mine !== generation) return;
      busy = false;
      typing.hidden = true;
      log.removeAttribute("aria-busy");
    });
}

function useLocation() {
  if (!navigator.geolocation) {
    note("Votre navigateur ne donne pas la position : écrivez le nom de votre commune.");
    return;
  }
  tell("Recherche de votre position…");
  navigator.geolocation.getCurrentPosition(function (p) {
    tell("");
    var round = function (v) { return Math.round(v * 1000) / 1000; }; /* about 100 m is enough */
    send({ location: { lat: round(p.coords.latitude), lon: round(p.coords.longitude) } }, "Ma position (partagée)");
  }, function () {
    tell("");
    note("Position indisponible : écrivez le nom de votre commune.");
  }, { timeout: 15000, maximumAge: 600000 });
}

function copySummary() {
  var copied = function () { copyBtn.focus(); tell("Résumé copié."); };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(summary).then(copied, fallback);
  else fallback();
  /* Older or non-secure pages: try execCommand on a hidden copy, else show the text selected. */
  function fallback() {
    var area = el("textarea", { class: "agw-sr", "aria-hidden": "true" });
    area.value = summary;
    panel.appendChild(area).select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { /* refused */ }
    area.remove();
    if (ok) return copied();
    var shown = el("textarea", { class: "agw-summary", readonly: "readonly", rows: "8",
      "aria-label": "Résumé de votre orientation" });
    shown.value = summary;
    say("agw-bot", "", shown);
    shown.focus();
    shown.select();
    tell("Copie automatique impossible : le résumé est sélectionné, copiez-le.");
  }
}

/* Forget the conversation here too: its id, the transcript of this tab, what is on screen. */
function forget() {
  store(KEY, null);
  store(LOG, null);
  store(FB, null);
  Array.from(log.children).forEach(function (c) { if (c !== typing && c !== privacy) c.remove(); });
  summary = "";
  copyBtn.hidden = shareBtn.hidden = true;
  locBtn.classList.remove("agw-hl");
}

function drop(id) {
  return id ? request("DELETE", CONV + "/" + encodeURIComponent(id)).then(function (res) {
    if (!res.ok && res.status !== 404) throw new Error("delete");
  }) : Promise.resolve();
}

function erase() {
  if (!window.confirm("Effacer cette conversation et les données gardées ?")) return;
  drop(read(KEY)).then(function () {
    forget();
    note("Vos données ont été effacées. Vous pouvez écrire pour recommencer.");
    input.focus();
  }).catch(function () { note("L'effacement a échoué. Réessayez dans un instant."); });
}

/* "Nouvelle conversation": the previous one is erased on the server and here, then a clean start
   with a new id (the server makes it); nothing of the previous person stays on screen. */
function restart() {
  generation++;
  busy = false;
  typing.hidden = true;
  log.removeAttribute("aria-busy");
  drop(read(KEY)).then(function () {
    forget();
    input.value = "";
    tell("Nouvelle conversation : la précédente est effacée.");
    input.focus();
    if (start) send({ text: start }, null);
  }).catch(function () { note("L'effacement a échoué. Réessayez dans un instant."); });
}

/* "Cela vous a-t-il aidé ?" — kept without the conversation: the server stores yes/no, the need
   and the schemes, and the optional comment without phone numbers or emails. */
function askFeedback() {
  var old = log.querySelector(".agw-fb");
  if (old) old.remove();
  var helpful = null;
  var area = el("textarea", { id: "agw-fb-text", rows: "3", maxlength: "300" });
  var form = el("form", { class: "agw-fb-form", onsubmit: function (ev) {
    ev.preventDefault();
    var text = area.value.trim();
    if (!text && helpful === null) { tell("Écrivez ce qui manquait, ou répondez oui ou non."); area.focus(); return; }
    give(helpful, text || null);
  } }, [el("label", { for: "agw-fb-text", text: "Ce qui manquait (facultatif, 300 caractères au plus ; " +
    "n'écrivez ni nom ni numéro)" }), area, el("button", { type: "submit", class: "agw-fb-btn", text: "Envoyer mon avis" })]);
  form.hidden = true;
  var more = function (value) {
    return function () { helpful = value; form.hidden = false; area.focus(); };
  };
  var box = el("div", { class: "agw-fb", role: "group", "aria-labelledby": "agw-fb-q" }, [
    el("p", { id: "agw-fb-q", text: "Cela vous a-t-il aidé ?" }),
    el("div", { class: "agw-fb-row" }, [
      el("button", { type: "button", class: "agw-fb-btn", text: "Oui", onclick: function () { give(true, null); } }),
      el("button", { type: "button", class: "agw-fb-btn", text: "Non", onclick: more(false) }),
      el("button", { type: "button", class: "agw-fb-btn", text: "Ce qui manquait", onclick: more(null) })]),
    form]);
  log.insertBefore(box, typing);
  scroll();
  function give(value, comment) {
    var inside = box.contains(document.activeElement);
    request("POST", "/api/v1/feedback", { helpful: value, comment: comment, conversation_id: read(KEY) || undefined })
      .then(function (res) {
        if (!res.ok) throw new Error("feedback");
        store(FB, "1");
        box.replaceChildren(el("p", { text: "Merci pour votre retour." }));
        tell("Merci pour votre retour.");
        if (inside) input.focus();
      }).catch(function () { tell("Votre avis n'a pas pu être envoyé. Réessayez."); });
  }
}

/* Tab and Shift+Tab cycle inside the panel while it covers the screen. */
function trap(ev) {
  if (ev.key !== "Tab" || !covering.matches || pageMode) return;
  var all = Array.from(panel.querySelectorAll("button, input, textarea, a[href], [tabindex='0']"))
    .filter(function (e) { return !e.disabled && e.getClientRects().length; });
  var first = all[0], last = all[all.length - 1];
  if (ev.shiftKey && document.activeElement === first) { last.focus(); ev.preventDefault(); }
  else if (!ev.shiftKey && document.activeElement === last) { first.focus(); ev.preventDefault(); }
}
function modal() { panel.setAttribute("aria-modal", covering.matches && !pageMode ? "true" : "false"); }

function open() {
  panel.hidden = false;
  root.classList.add("agw-open");
  launcher.setAttribute("aria-expanded", "true");
  input.focus();
  if (!opened) {
    opened = true;
    if (!read(KEY) && start) send({ text: start }, null);
  }
}
function close() {
  if (pageMode) return;
  panel.hidden = true;
  root.classList.remove("agw-open");
  launcher.setAttribute("aria-expanded", "false");
  launcher.focus();
}

function build() {
  var tool = function (cls, text, handler) {
    return el("button", { type: "button", class: "agw-tool " + cls, text: text, onclick: handler });
  };
  launcher = el("button", { type: "button", class: "agw-launcher", "aria-expanded": "false",
    "aria-controls": "agw-panel", onclick: function () { if (panel.hidden) open(); else close(); } },
  [icon(BUBBLE), el("span", { text: title })]);
  typing = el("div", { class: "agw-typing", "aria-hidden": "true", text: "…" });
  typing.hidden = true;
  privacy = el("p", { class: "agw-privacy" }, [
    document.createTextNode("Assistant automatique. Vos messages ne sont pas enregistrés, seulement vos " +
      "réponses utiles, " + days + " jours au plus. "),
    el("button", { type: "button", class: "agw-erase", text: "Effacer mes données", onclick: erase })]);
  log = el("div", { class: "agw-log", role: "log", "aria-live": "polite", "aria-label": "Conversation",
    tabindex: "0" }, [privacy, typing]);
  input = el("input", { id: "agw-input", type: "text", autocomplete: "off", maxlength: "600",
    enterkeyhint: "send", placeholder: "Écrivez votre message…" });
  locBtn = el("button", { type: "button", class: "agw-tool agw-loc", onclick: useLocation },
    [icon(PIN), el("span", { text: "Utiliser ma position" })]);
  locBtn.setAttribute("aria-describedby", "agw-loc-why");
  copyBtn = tool("agw-copy", "Copier le résumé", copySummary);
  shareBtn = tool("agw-share", "Partager le résumé", function () {
    navigator.share({ title: title, text: summary }).catch(function () {});
  });
  copyBtn.hidden = shareBtn.hidden = true;
  status = el("p", { class: "agw-status", role: "status" });
  var form = el("form", { class: "agw-form", onsubmit: function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    send({ text: text }, text);
  } }, [el("label", { for: "agw-input", class: "agw-sr", text: "Votre message" }), input,
    el("button", { type: "submit", class: "agw-send", text: "Envoyer" })]);
  panel = el("div", { id: "agw-panel", class: "agw-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "agw-title" }, [
    el("div", { class: "agw-head" }, [
      el("h2", { id: "agw-title", text: title }),
      el("button", { type: "button", class: "agw-new", text: "Nouvelle conversation", onclick: restart }),
      pageMode ? null : el("button", { type: "button", class: "agw-close", "aria-label": "Fermer l'assistant",
        text: "×", onclick: close })]),
    log,
    el("div", { class: "agw-tools" }, [locBtn, copyBtn, shareBtn]),
    el("p", { id: "agw-loc-why", class: "agw-sr", text: "Votre position sert seulement à trouver un lieu d'aide proche." }),
    status,
    form]);
  panel.hidden = true;
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !pageMode) { ev.stopPropagation(); close(); }
    trap(ev);
  });
  modal();
  if (covering.addEventListener) covering.addEventListener("change", modal);
  root = el("div", { class: "agw" + (pageMode ? " agw-page" : ""), lang: "fr" }, [pageMode ? null : launcher, panel]);
  root.style.setProperty("--agw-color", safeColor(opt("color", "#1d4e89")));
  document.head.appendChild(el("link", { rel: "stylesheet", href: new URL("aiguillage-widget.css", src).href }));
  document.body.appendChild(root);

  var past = transcript();
  if (read(KEY)) {
    past.forEach(function (e, i) {
      if (e.w === "user") showUser(e.t, false);
      else showReply(e.r, i === past.length - 1);
    });
  }
  carryOver();
  if (pageMode) open();
}

/* Answers carried over from the ambassadeurs' QR code (#texte=..., a fragment no server sees):
   put in the message box for the person to read and send; the address forgets them at once. */
function carryOver() {
  var found = /^#texte=(.*)$/.exec(location.hash);
  if (!found) return;
  try { input.value = decodeURIComponent(found[1]).slice(0, 600); } catch (e) { /* not ours */ }
  history.replaceState(null, "", location.pathname + location.search);
}

if (document.body) build();
else document.addEventListener("DOMContentLoaded", build);
})();
