/* Ambassadeurs' outreach page: a quick screening judged in the browser on the screening pack
   (/ambassadeur/pack.json), so that it works offline once loaded. The judging and the question
   chooser follow knowledge/eligibility.py and knowledge/questions.py; the conditions the page
   cannot check (commune-level zones, population, local checks, benefits computed by the
   organisation) stay « à vérifier ». Nothing about the person leaves the phone, except with their
   consent (the QR code's text, a referral to a structure). */
(function () {
  "use strict";

  var CACHE = "aiguillage-outreach-v1";
  var PERSON_KEY = "aiguillage-outreach-person";
  // referrals owed to earlier persons: outside the "aiguillage-outreach" keys that « Nouvelle personne » wipes
  var QUEUE_KEY = "aiguillage-referral-queue";
  var SUBSTITUTES = { quotient_familial: ["monthly_income", "household_adults", "children_count"] };
  var app = document.getElementById("app");
  var commune = app.dataset.commune;
  var packUrl = "/ambassadeur/pack.json?commune=" + encodeURIComponent(commune);
  var pack = null;
  var person = emptyPerson();

  function emptyPerson() { return { facts: {}, declined: [], asked: [] }; }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ storage (this person only)
  function save() { sessionStorage.setItem(PERSON_KEY, JSON.stringify(person)); }
  function restore() {
    try { return JSON.parse(sessionStorage.getItem(PERSON_KEY) || "null") || emptyPerson(); }
    catch (e) { return emptyPerson(); }
  }
  function wipe() {
    sessionStorage.clear();
    Object.keys(localStorage).forEach(function (k) { if (k.indexOf("aiguillage-outreach") === 0) localStorage.removeItem(k); });
    person = emptyPerson();
  }

  // ------------------------------------------------------------------ judging (knowledge/eligibility.py)
  function check(result, missing, reason, territorial) {
    return { result: result, missing: missing || [], reason: reason || "", territorial: !!territorial };
  }
  function fmtAge(v) {
    if (v < 3 && Math.abs(v - Math.round(v)) > 0.01) return Math.round(v * 12) + " mois";
    var y = Math.round(v); return y === 1 ? "1 an" : y + " ans";
  }
  function parts(adults, children) {
    if (children <= 0) return Math.max(1, Math.min(adults, 2));
    var p = 2; for (var r = 1; r <= children; r++) p += r === 3 ? 1 : 0.5; return p;
  }
  function quotient(f) {
    if (f.quotient_familial != null) return f.quotient_familial;
    var adults = f.household_adults;
    if (adults == null && f.single_parent != null) adults = f.single_parent ? 1 : 2;
    if (f.monthly_income == null || f.children_count == null || adults == null) return null;
    return Math.round(f.monthly_income / parts(adults, f.children_count));
  }
  function checkAll(c, f, scheme) {
    var out = [];
    if (c.age) {
      if (f.age == null) out.push(check(null, ["age"]));
      else {
        var ok = (c.age.min == null || f.age >= c.age.min) && (c.age.max == null || f.age <= c.age.max);
        out.push(check(ok, [], ok ? "Âge dans la tranche prévue." : "Âge hors de la tranche prévue."));
      }
    }
    if (c.zone) {
      out.push(scheme.zone_coverage === "all" ? check(true, [], "", true)
        : check(null, ["commune"], "Proposé seulement dans certaines communes du département."));
    }
    if (c.commune_max_population != null) out.push(check(null, ["commune"], "Selon la taille de la commune."));
    if (c.children) out.push(children(c.children, f));
    if (c.situation) {
      if (f.situation == null) out.push(check(null, ["situation"]));
      else out.push(check(c.situation.indexOf(f.situation) >= 0, [], "Situation de la personne."));
    }
    if (c.single_parent != null) {
      var single = f.single_parent;
      if (single == null && f.household_adults != null && f.children_count) single = f.household_adults === 1;
      out.push(single == null ? check(null, ["single_parent"]) : check(single === c.single_parent, [], "Parent seul·e."));
    }
    if (c.quotient_familial_max != null) {
      var qf = quotient(f);
      out.push(qf == null ? check(null, ["quotient_familial"]) : check(qf <= c.quotient_familial_max, [], "Quotient familial."));
    }
    if (c.monthly_income_max != null) {
      out.push(f.monthly_income == null ? check(null, ["monthly_income"])
        : check(f.monthly_income <= c.monthly_income_max, [], "Revenus du mois."));
    }
    if (c.housing) {
      out.push(f.housing == null ? check(null, ["housing"]) : check(c.housing.indexOf(f.housing) >= 0, [], "Logement."));
    }
    if (c.owns_vacant_dwelling != null || c.vacant_dwelling) out.push(check(null, ["owns_vacant_dwelling"]));
    if (c.pregnant != null) {
      out.push(f.pregnant == null ? check(null, ["pregnant"]) : check(f.pregnant === c.pregnant, [], "Grossesse."));
    }
    if (c.local_check) out.push(check(null, [], c.local_check));
    if (c.any_of) out.push(anyOf(c.any_of, f, scheme));
    return out;
  }
  function children(child, f) {
    var count = f.children_count, ages = f.children_ages;
    var low = child.min_age != null ? child.min_age : 0, high = child.max_age != null ? child.max_age : 99;
    var min = child.min_count != null ? child.min_count : 1;
    if (count === 0) return check(false, [], "Pas d'enfant à charge.");
    var inRange = function (a) { return a >= low && a <= high; };
    if (!ages || !ages.length || (count != null && ages.length < count && ages.filter(inRange).length < min)) {
      if (f.pregnant && low === 0) return check(null, ["children_ages"]);
      return check(null, count ? ["children_ages"] : ["children_count"]);
    }
    var matching = ages.filter(inRange);
    return check(matching.length >= min, [], "Âge des enfants : " + ages.map(fmtAge).join(", ") + ".");
  }
  function anyOf(groups, f, scheme) {
    var results = groups.map(function (g) { return checkAll(g, f, scheme); });
    var status = results.map(function (checks) {
      if (checks.some(function (c) { return c.result === false; })) return false;
      return checks.every(function (c) { return c.result === true; }) ? true : null;
    });
    if (status.indexOf(true) >= 0) return check(true, [], "");
    if (status.every(function (s) { return s === false; })) return check(false, [], "Aucune des situations prévues.");
    var missing = [];
    status.forEach(function (s, i) {
      if (s === null) results[i].forEach(function (c) { if (c.result === null) c.missing.forEach(function (m) { if (missing.indexOf(m) < 0) missing.push(m); }); });
    });
    return check(null, missing);
  }
  function judge(scheme, f) {
    var checks = checkAll(scheme.conditions, f, scheme);
    var missing = [];
    checks.forEach(function (c) { if (c.result === null) c.missing.forEach(function (m) { if (missing.indexOf(m) < 0) missing.push(m); }); });
    var specificity = checks.filter(function (c) { return c.result === true && !c.territorial; }).length;
    var verify = checks.filter(function (c) { return c.result === null && c.reason; }).map(function (c) { return c.reason; });
    if (checks.some(function (c) { return c.result === false; })) return { scheme: scheme, status: "not_eligible", missing: [], verify: [], specificity: 0 };
    var unknown = checks.some(function (c) { return c.result === null; });
    if (scheme.engine === "openfisca") {
      // the organisation computes the right and the amount: never settled on the phone
      return { scheme: scheme, status: "to_check", missing: missing, specificity: specificity,
               verify: verify.concat(["Droit et montant calculés par l'organisme."]) };
    }
    return { scheme: scheme, status: unknown ? "to_check" : "eligible", missing: missing, verify: verify, specificity: specificity };
  }
  function judgeAll(schemes, f) { return schemes.map(function (s) { return judge(s, f); }); }

  // ------------------------------------------------------------------ choosing (knowledge/questions.py)
  function questionFor(fact) { return pack.questions.filter(function (q) { return q.fact === fact; })[0]; }
  function askable(missing, f, declined) {
    var out = [];
    missing.forEach(function (fact) {
      var candidates = declined.indexOf(fact) >= 0 ? (SUBSTITUTES[fact] || []) : [fact];
      candidates.forEach(function (c) {
        if (c in f || declined.indexOf(c) >= 0 || !questionFor(c) || out.indexOf(c) >= 0) return;
        out.push(c);
      });
    });
    return out;
  }
  function nextQuestion() {
    if (person.asked.length >= pack.max_questions) return null;
    var rules = pack.schemes.filter(function (s) { return s.engine !== "openfisca"; });
    var scores = {};
    judgeAll(rules, person.facts).forEach(function (r) {
      if (r.status !== "to_check") return;
      var facts = askable(r.missing, person.facts, person.declined);
      facts.forEach(function (fact) { scores[fact] = (scores[fact] || 0) + 1 / facts.length; });
    });
    var best = null;
    Object.keys(scores).forEach(function (fact) {
      var q = questionFor(fact), s = Math.round(scores[fact] * 1e6) / 1e6;
      if (!best || s > best.s || (s === best.s && (q.cost < best.q.cost || (q.cost === best.q.cost && q.order < best.q.order)))) best = { q: q, s: s };
    });
    return best ? best.q : null;
  }

  // ------------------------------------------------------------------ answering
  function record(fact, facts) {
    Object.keys(facts).forEach(function (k) { person.facts[k] = facts[k]; });
    if (person.asked.indexOf(fact) < 0) person.asked.push(fact);
    save(); step();
  }
  function decline(fact) {
    if (person.declined.indexOf(fact) < 0) person.declined.push(fact);
    if (person.asked.indexOf(fact) < 0) person.asked.push(fact);
    save(); step();
  }
  function optionFacts(fact, value) {
    if ((fact === "children_count" || fact === "children_ages") && value === 0) return { children_count: 0, children_ages: [] };
    if (fact === "household_adults") return { household_adults: parseInt(value, 10) };
    var out = {}; out[fact] = value; return out;
  }
  function parseAges(text) {
    var ages = [], re = /(\d+(?:[.,]\d+)?)\s*(mois)?/g, m;
    while ((m = re.exec(text)) !== null) {
      var v = parseFloat(m[1].replace(",", "."));
      ages.push(m[2] ? Math.round(v / 12 * 100) / 100 : v);
    }
    return ages;
  }
  function typedFacts(q, raw) {
    var text = raw.trim();
    if (q.fact === "children_ages") {
      var ages = parseAges(text);
      if (!ages.length) return null;
      var out = { children_ages: ages };
      if (person.facts.children_count == null) out.children_count = ages.length;
      return out;
    }
    var n = parseFloat(text.replace(/\s/g, "").replace(",", "."));
    if (isNaN(n) || n < 0) return null;
    if (q.parser === "age" && n > 120) return null;
    if (q.parser === "children") return n === 0 ? { children_count: 0, children_ages: [] } : { children_count: Math.round(n) };
    var o = {}; o[q.fact] = q.parser === "money" || q.parser === "quotient" ? n : Math.round(n); return o;
  }
  var INPUT_LABELS = { age: "Âge (en années)", children: "Nombre d'enfants", money: "Montant par mois (€)",
                       quotient: "Quotient familial (€)", integer: "Nombre", years: "Nombre d'années" };

  function showQuestion(q) {
    $("result").hidden = true; $("question").hidden = false;
    $("progress").textContent = "Question " + (person.asked.length + 1) + " sur " + pack.max_questions + " au plus";
    $("question-text").textContent = q.text;
    $("question-why").textContent = q.why;
    var box = $("answers"); box.textContent = "";
    box.dataset.fact = q.fact;
    var dontKnow = false;
    q.options.forEach(function (o) {
      var b = el("button", { type: "button", "class": "big" }, o.title);
      if (o.value === null) { dontKnow = true; b.className = "big secondary"; b.addEventListener("click", function () { decline(q.fact); }); }
      else b.addEventListener("click", function () { record(q.fact, optionFacts(q.fact, o.value)); });
      box.appendChild(b);
    });
    if (q.parser !== "choice" && q.parser !== "yes_no") {
      var form = el("form", { novalidate: "" });
      var id = "answer-" + q.fact;
      var children = q.fact === "children_ages";
      var label = el("label", { "for": id }, children ? "Âges des enfants (ex. : 3 et 7, ou 14 mois)" : INPUT_LABELS[q.parser] || "Réponse");
      var input = el("input", { id: id, inputmode: children ? "text" : "decimal", autocomplete: "off" });
      var ok = el("button", { type: "submit", "class": "big primary" }, "Valider");
      var error = el("p", { "class": "message", role: "alert" });
      form.append(label, input, ok, error);
      label.style.flexBasis = "100%";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var facts = typedFacts(q, input.value);
        if (!facts) { error.textContent = "Réponse non comprise : écrivez un nombre."; input.focus(); return; }
        record(q.fact, facts);
      });
      box.appendChild(form);
    }
    if (!dontKnow) {
      var skip = el("button", { type: "button", "class": "big secondary" }, "Je ne sais pas / passer");
      skip.addEventListener("click", function () { decline(q.fact); });
      box.appendChild(skip);
    }
    $("question-text").focus();
  }

  // ------------------------------------------------------------------ result card
  // rights that fit the person, then what is still to check, then the doors open to everyone
  function group(r) { return r.status === "to_check" ? 1 : (r.specificity ? 0 : 2); }
  function worthChecking() {
    var results = judgeAll(pack.schemes, person.facts).filter(function (r) { return r.status !== "not_eligible"; });
    results.sort(function (a, b) {
      var ka = [group(a), -a.specificity, a.missing.length], kb = [group(b), -b.specificity, b.missing.length];
      for (var i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
      return 0;
    });
    return results.slice(0, 8);
  }
  function statusLabel(r) {
    if (r.status === "eligible") return r.specificity ? "Peut y avoir droit" : "Ouvert à tous";
    return "À vérifier";
  }
  function placesFor(results) {
    var ids = results.map(function (r) { return r.scheme.id; });
    var carrying = pack.places.filter(function (p) { return !p.door && p.schemes.some(function (s) { return ids.indexOf(s) >= 0; }); });
    var doors = pack.places.filter(function (p) { return p.door; });
    return carrying.slice(0, 3).concat(doors.slice(0, 2));
  }
  function contactLine(p) {
    var c = p.contacts || {};
    return [c.telephone && "tél. " + c.telephone, c.courriel, c.site_web].filter(Boolean).join(" · ");
  }
  function showResult() {
    $("question").hidden = true; $("result").hidden = false;
    var results = worthChecking();
    var list = $("schemes"); list.textContent = "";
    results.forEach(function (r) {
      var li = el("li", { "class": r.status, "data-scheme": r.scheme.id });
      li.append(el("span", { "class": "status" }, statusLabel(r)), el("h3", {}, r.scheme.name));
      var verify = r.missing.filter(function (m) { return m !== "commune" || r.verify.length === 0; })
        .map(function (m) { return pack.fact_labels[m] || m; }).concat(r.verify);
      if (r.status === "to_check" && verify.length) li.append(el("p", {}, "À vérifier : " + verify.join(" ; ")));
      var more = el("details");
      more.append(el("summary", {}, "En savoir plus"), el("p", {}, r.scheme.summary), el("p", {}, "Démarche : " + r.scheme.first_step));
      li.append(more);
      list.appendChild(li);
    });
    if (!results.length) list.appendChild(el("li", {}, "Aucune aide du département ne correspond aux réponses : orientez vers un lieu ci-dessous."));
    var places = placesFor(results);
    var plist = $("places"); plist.textContent = "";
    places.forEach(function (p) {
      var li = el("li", { "data-place": p.key });
      li.append(el("h3", {}, p.name));
      if (p.address) li.append(el("p", {}, p.address + (p.distance_km != null ? " (" + String(p.distance_km).replace(".", ",") + " km)" : "")));
      var c = p.contacts || {};
      if (c.telephone) { var tel = el("p"); tel.append(el("a", { href: "tel:" + c.telephone.replace(/\s/g, "") }, "Appeler le " + c.telephone)); li.append(tel); }
      if (c.courriel) li.append(el("p", {}, c.courriel));
      if (c.site_web) li.append(el("p", {}, c.site_web));
      if (!contactLine(p) && p.no_contact_door) li.append(el("p", {}, "Se renseigner auprès de " + p.no_contact_door + "."));
      plist.appendChild(li);
    });
    showReferral();
    var sms = smsText(results, places);
    $("sms").value = sms; $("sms-count").textContent = String(sms.length);
    $("result-title").focus();
  }
  function smsText(results, places) {
    // a place carrying one of the schemes and the nearest France Services, with their contacts
    // (the person needs somewhere to go), then as many
    // scheme names as the 480 characters allow
    var limit = 480, end = " Conditions à confirmer sur place.";
    var names = results.filter(function (r) { return r.specificity > 0 || r.status === "to_check"; }).map(function (r) { return r.scheme.name; });
    if (!names.length) names = results.map(function (r) { return r.scheme.name; });
    var where = "";
    var reachable = places.filter(function (p) { return contactLine(p); });
    var picked = [reachable.filter(function (p) { return !p.door; })[0], reachable.filter(function (p) { return p.door; })[0]];
    picked.filter(Boolean).forEach(function (p) {
      var line = " Où : " + p.name + ", " + contactLine(p) + ".";
      if ((where + line).length <= 200) where += line;
    });
    var body = "Aides à regarder : ";
    names.forEach(function (n, i) {
      var candidate = body + (i ? " ; " : "") + n;
      if ((candidate + "." + where + end).length <= limit) body = candidate;
    });
    var text = body + "." + where + end;
    return text.length <= limit ? text : text.slice(0, limit - 1) + "…";
  }

  // ------------------------------------------------------------------ QR code (only with the person's agreement)
  var SITUATION_WORDS = { demandeur_emploi: "Je cherche un emploi.", beneficiaire_rsa: "Je touche le RSA.",
    salarie: "Je travaille.", en_formation: "Je suis en formation.", etudiant: "Je suis étudiant.",
    retraite: "Je suis retraité." };
  var HOUSING_WORDS = { locataire: "Je suis locataire.", proprietaire: "Je suis propriétaire.",
    heberge: "Je suis hébergé.", sans_domicile: "Je suis sans logement." };
  function sentence() {
    var f = person.facts, out = [];
    if (f.age != null) out.push("J'ai " + f.age + " ans.");
    if (f.children_count === 0) out.push("Je n'ai pas d'enfant à charge.");
    else if (f.children_ages && f.children_ages.length) out.push("J'ai " + f.children_ages.length + (f.children_ages.length > 1 ? " enfants de " : " enfant de ") + f.children_ages.map(fmtAge).join(" et ") + ".");
    else if (f.children_count) out.push("J'ai " + f.children_count + (f.children_count > 1 ? " enfants." : " enfant."));
    if (SITUATION_WORDS[f.situation]) out.push(SITUATION_WORDS[f.situation]);
    if (f.single_parent === true) out.push("J'élève seul mes enfants.");
    if (f.household_adults === 1) out.push("Je vis seul."); else if (f.household_adults === 2) out.push("Je vis en couple.");
    if (HOUSING_WORDS[f.housing]) out.push(HOUSING_WORDS[f.housing]);
    if (f.pregnant === true) out.push("J'attends un enfant.");
    if (f.quotient_familial != null) out.push("Mon quotient familial est de " + f.quotient_familial + " €.");
    if (f.monthly_income != null) out.push("Nos revenus sont de " + f.monthly_income + " € par mois.");
    return out.join(" ");
  }
  function showQr() {
    var img = $("qr"), note = $("qr-note");
    if (!navigator.onLine) { img.hidden = true; note.textContent = "Le QR code demande du réseau : donnez-lui le texte ci-dessus."; return; }
    var consent = $("qr-consent").checked;
    img.src = "/ambassadeur/qr.svg" + (consent ? "?texte=" + encodeURIComponent(sentence()) : "");
    img.hidden = false;
    note.textContent = consent ? "Le QR code ouvre l'assistant avec ses réponses, qu'elle relira avant de les envoyer."
      : "Le QR code ouvre l'assistant, sans ses réponses.";
  }
  function clearQr() {
    $("qr-consent").checked = false; $("qr").hidden = true; $("qr").removeAttribute("src"); $("qr-note").textContent = "";
  }

  // ------------------------------------------------------------------ referral (only with the person's consent)
  // queued in localStorage first, then sent; kept while the network is missing or the server fails,
  // removed once the server has answered (created, or refused for good)
  var currentReferral = null;
  var flushing = false;
  function readQueue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function writeQueue(queue) {
    if (queue.length) localStorage.setItem(QUEUE_KEY, JSON.stringify(queue)); else localStorage.removeItem(QUEUE_KEY);
  }
  function dropFromQueue(id) { writeQueue(readQueue().filter(function (item) { return item.id !== id; })); }
  function referralNote(id, text) { if (id === currentReferral) $("referral-note").textContent = text; }
  function needText() {
    var names = worthChecking().map(function (r) { return r.scheme.name + " (" + statusLabel(r).toLowerCase() + ")"; });
    var text = names.length ? "Aides à regarder : " + names.join(" ; ") + "." : "Aucune aide du département ne correspond aux réponses.";
    return text.length <= 1000 ? text : text.slice(0, 999) + "…";
  }
  function flushQueue() {
    if (flushing || !navigator.onLine) return Promise.resolve();
    var queue = readQueue();
    if (!queue.length) return Promise.resolve();
    flushing = true;
    var item = queue[0];
    return fetch("/ambassadeur/referrals", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(item.body),
      credentials: "omit", cache: "no-store",
    }).then(function (response) {
      if (response.ok) { dropFromQueue(item.id); referralNote(item.id, "Orientation envoyée à " + item.structure + "."); return true; }
      if (response.status >= 400 && response.status < 500 && response.status !== 429 && response.status !== 408) {
        dropFromQueue(item.id);  // refused for good: sending it again would not help
        return response.json().catch(function () { return {}; }).then(function (data) {
          referralNote(item.id, "Orientation non envoyée : " + (data.detail || "refusée par le serveur") + ".");
          return true;
        });
      }
      return false;
    }).catch(function () { return false; }).then(function (sent) {
      flushing = false;
      if (sent) return flushQueue();
    });
  }
  function sendReferral() {
    var note = $("referral-note");
    if (!$("referral-consent").checked) { note.textContent = "Cochez l'accord de la personne : sans lui, rien n'est transmis."; return; }
    var select = $("referral-structure");
    var id = Date.now() + "-" + Math.random().toString(36).slice(2);
    var queue = readQueue();
    queue.push({ id: id, structure: select.options[select.selectedIndex].text, body: {
      commune: commune, structure_id: parseInt(select.value, 10), need: needText(),
      contact: $("referral-contact").value.trim().slice(0, 200), consent: true } });
    writeQueue(queue);
    currentReferral = id;
    $("send-referral").disabled = true;
    note.textContent = "Orientation en attente d'envoi : elle part dès que le réseau est là.";
    flushQueue();
  }
  function showReferral() {
    var targets = pack.structures || [];
    $("referral").hidden = !targets.length;
    var select = $("referral-structure");
    if (select.options.length !== targets.length) {
      select.textContent = "";
      targets.forEach(function (s) { select.appendChild(el("option", { value: String(s.id) }, s.name)); });
    }
  }
  function clearReferral() {
    currentReferral = null;
    $("referral-consent").checked = false; $("referral-contact").value = ""; $("referral-note").textContent = "";
    $("send-referral").disabled = false;
  }

  // ------------------------------------------------------------------ flow
  function step() {
    var q = nextQuestion();
    if (q) showQuestion(q); else showResult();
  }
  function newPerson() {
    wipe();
    $("schemes").textContent = ""; $("places").textContent = ""; $("sms").value = ""; $("copied").textContent = "";
    clearQr();
    clearReferral();
    step();
  }
  function network() {
    var node = $("network");
    if (navigator.onLine) { node.textContent = ""; node.className = "network"; }
    else { node.textContent = "Hors ligne : la présélection marche avec les données enregistrées sur ce téléphone."; node.className = "network offline"; }
  }
  function loadPack() {
    return fetch(packUrl).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .catch(function () {
        return caches.match(packUrl).then(function (r) { if (!r) throw new Error("pack"); return r.json(); });
      });
  }
  function keepOffline() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/ambassadeur/sw.js", { scope: "/ambassadeur" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      return caches.open(CACHE).then(function (cache) { return cache.addAll([location.pathname + location.search, packUrl]); });
    }).then(function () { app.dataset.offlineReady = "1"; }).catch(function () { app.dataset.offlineReady = "0"; });
  }

  window.addEventListener("online", function () { network(); flushQueue(); });
  $("send-referral").addEventListener("click", sendReferral);
  window.addEventListener("offline", network);
  $("new-person").addEventListener("click", newPerson);
  $("show-qr").addEventListener("click", showQr);
  $("qr-consent").addEventListener("change", function () { if (!$("qr").hidden) showQr(); });
  $("copy-sms").addEventListener("click", function () {
    var text = $("sms").value;
    var done = function () { $("copied").textContent = "Texte copié."; };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () { $("sms").select(); document.execCommand("copy"); done(); });
    else { $("sms").select(); document.execCommand("copy"); done(); }
  });
  network();
  loadPack().then(function (data) {
    pack = data;
    $("loading").hidden = true;
    $("pack-date").textContent = "Aides et lieux enregistrés le " + pack.generated.split("-").reverse().join("/") + ".";
    person = restore();
    step();
    keepOffline();
    flushQueue();  // referrals left waiting at an earlier visit
  }).catch(function () {
    $("loading").textContent = "Impossible de charger les aides : ouvrez cette page une première fois avec du réseau.";
  });
})();
