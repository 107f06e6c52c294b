/* Aiguillage — console des agents: instant search, live situation results, print and copy. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  /* ---- desk search: JSON as the agent types ---- */
  var desk = document.getElementById("desk");
  if (desk) {
    var status = document.getElementById("status");
    var schemes = document.getElementById("schemes");
    var places = document.getElementById("places");
    var sequence = 0;
    var search = function () {
      var params = new URLSearchParams(new FormData(desk));
      var mine = ++sequence;
      status.textContent = "Recherche…";
      fetch("/pro/recherche?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { if (r.status === 401) { location.href = "/pro/connexion"; } return r.json(); })
        .then(function (data) { if (mine === sequence) show(data); })
        .catch(function () { status.textContent = "La recherche n'a pas abouti : réessayez."; });
    };
    var show = function (data) {
      schemes.textContent = "";
      places.textContent = "";
      var communeParam = data.commune ? "?commune=" + encodeURIComponent(data.commune.code) : "";
      data.schemes.forEach(function (s) {
        var li = el("li", null, "card scheme");
        var h = el("h3");
        var a = el("a", s.name);
        a.href = s.url + communeParam;
        h.appendChild(a);
        li.appendChild(h);
        li.appendChild(el("p", s.summary));
        li.appendChild(el("p", s.themes.join(", ") + (s.free ? " · gratuit" : ""), "meta"));
        schemes.appendChild(li);
      });
      data.places.forEach(function (p) {
        var li = el("li", null, "card place");
        li.appendChild(el("h3", p.name + (p.distance_km !== null ? " — à " + p.distance_km + " km" : "")));
        if (p.address) li.appendChild(el("p", p.address));
        var contacts = Object.keys(p.contacts).map(function (k) { return p.contacts[k]; });
        if (contacts.length) li.appendChild(el("p", contacts.join(" · ")));
        else if (p.no_contact_door) li.appendChild(el("p", "Sans contact direct : " + p.no_contact_door));
        if (p.hours.length) li.appendChild(el("p", "Horaires : " + p.hours.join(" ; "), "meta"));
        if (p.schemes && p.schemes.length) li.appendChild(el("p", "Dispositifs : " + p.schemes.map(function (s) { return s.name; }).join(", "), "meta"));
        places.appendChild(li);
      });
      var where = data.commune ? " autour de " + data.commune.name : "";
      status.textContent = (data.warning ? data.warning + ". " : "") + data.schemes.length + " dispositif(s), " +
        data.places.length + " lieu(x)" + where + ".";
    };
    var later = debounce(search, 200);
    desk.addEventListener("input", later);
    desk.addEventListener("change", later);
    desk.addEventListener("submit", function (e) { e.preventDefault(); search(); });
    search();
  }

  /* ---- situation form: results refreshed as facts are entered, in any order ---- */
  var situation = document.getElementById("situation");
  if (situation) {
    var results = document.getElementById("resultats");
    var turn = 0;
    var refresh = function () {
      var chosen = Array.prototype.map.call(situation.querySelectorAll('input[name="dispositif"]:checked'),
        function (c) { return c.value; });
      var mine = ++turn;
      var body = new URLSearchParams(new FormData(situation));
      body.delete("dispositif");
      fetch("/pro/situation", {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": csrf, "X-Fragment": "1" }
      }).then(function (r) { return r.text(); }).then(function (html) {
        if (mine !== turn) return;
        results.innerHTML = html;
        chosen.forEach(function (id) {
          var box = document.getElementById("d-" + id);
          if (box) box.checked = true;
        });
      });
    };
    var soon = debounce(refresh, 300);
    situation.addEventListener("input", function (e) { if (e.target.name !== "dispositif") soon(); });
    situation.addEventListener("change", function (e) { if (e.target.name !== "dispositif") soon(); });
    refresh();
  }

  /* ---- orientation sheet: print and copy ---- */
  var print = document.getElementById("print");
  if (print) print.addEventListener("click", function () { window.print(); });
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      field.select();
      var done = function () { button.textContent = "Copié"; };
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
  });
})();
