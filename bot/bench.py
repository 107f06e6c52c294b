"""`aiguillage bench`: speed and memory of the assistant's parts, as a Markdown table.

Measured in one process, in the order a server starts: the communes gazetteer (from its CSV
files), the knowledge base (a new temporary SQLite database: migrations + content sync + load,
then the same database once up to date), the NLU model (spaCy fr_core_news_md + the saved
classifier, trained first if missing), then per-call latencies (p50/p95): NLU parse over
`--messages` varied messages, one dialogue turn over scripted conversations, nearest services,
text search, eligibility of every scheme. Peak memory is the process's maximum RSS
(`resource.getrusage`). Then (bot/bench_scale.py) 150,000 synthetic services: import, load,
nearest; (bot/bench_start.py) cold start of `aiguillage chat --json` and NLU training; (bot/bench_http.py)
a real server at 1, 10 and 100 concurrent conversations, with and without 3 s pauses. Each row
carries its command and the load average when it was taken (the machine is shared).
`--output FILE` writes the table between two marker lines of FILE, keeping the rest
(docs/performance.md keeps its older figures below the table).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

SEED = 20261122

#: message templates: SMS spelling, typos, several facts at once, plain questions, English
TEMPLATES = [
    "bonjour", "bjr jai besoin d'aide", "merci beaucoup", "au revoir", "oui", "nan", "je sais pas",
    "c koi le PCB", "c'est quoi la prime vacance ?", "la cantine a 1e ça existe a {commune} ?",
    "je cherche une creche avip pour mon bebe", "sac ado c pour qui", "point conseil budjet",
    "jsuis sur {commune}", "j'habite à {commune}", "{cp}", "on vit pres de {commune}",
    "j'ai {age} ans", "jai {age} ans et je suis au rsa", "g {n} enfants de {a1} et {a2} ans",
    "un bébé de {months} mois", "maman solo avec {n} gosses", "on est en couple avec {n} enfants",
    "QF {qf}", "mon quotient familial est de {qf}", "on gagne {amount} € par mois",
    "je touche {amount} euros", "je suis locataire", "je suis proprio d'une maison vide depuis 3 ans",
    "jsuis au chomage depuis 6 mois", "je suis en formation", "je suis etudiant",
    "j'ai plus rien a manger pour mes enfants", "ou est l'epicerie solidaire la plus proche de {commune}",
    "je voudrais parler a quelqu'un", "pourquoi vous me demandez ça ?", "effacer mes donnees",
    "mon mari me frappe", "je dors dans ma voiture depuis une semaine",
    "I live in {commune} and I need food", "hello, I need help with my rent",
    "Bonjour, je reçois une personne de {age} ans sans emploi à {commune}, quelles aides pour elle ?",
    "ma fille de {a1} ans voudrait partir en colo cet été, on a un petit budget",
    "j'ai des dettes et des factures impayées, je m'en sors plus",
]  # fmt: skip

#: scripted conversations (user turns); {"location": (lat, lon)} shares a position
CONVERSATIONS: list[list[Any]] = [
    ["bonjour", "je cherche une crèche pour mon bébé, je cherche du travail", "Hersin-Coupigny",
     "un bébé de 14 mois", "pourquoi ?", "merci"],
    ["bjr la cantine de mes enfants coute trop cher, ya pas la cantine a 1 euro ?", "Fruges",
     "deux, 6 ans et 9 ans", "je sais pas", "1 800 €", "en couple", "merci au revoir"],
    ["c koi le PCB", "oui", "62530", "j'ai 45 ans", "merci"],
    ["prime vacance", "partir en vacances", "j'ai 19 ans", "Arras", "je suis étudiant", "ok merci"],
    ["j'ai une maison vide depuis 3 ans, il y a une prime ?", "oui", "Montreuil-sur-Mer", "propriétaire"],
    ["bonjour", "je voudrais parler à quelqu'un", {"location": (50.4479, 2.6494)}, "merci"],
    ["jsuis au rsa avec 2 gosses de 3 et 7 ans a bethune, c quoi mes droits ?", "oui", "500",
     "je sais pas", "non", "merci"],
    ["mon mari me frappe", "oui", "Lens", "merci"],
]  # fmt: skip

SEARCH_QUERIES = [
    "cantine a 1e", "point conseil budjet", "epicerie solidere", "creche avip", "sac ado", "mission locale",
    "france services", "aide au permis", "transport solidaire", "restos du coeur", "pass colo",
    "surendettement", "logement vide", "ccas", "violences conjugales", "garde d'enfant",
]  # fmt: skip


def load_average() -> float:
    """The 1-minute load average now (the machine is shared: every figure is printed beside it)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


@dataclass
class Row:
    label: str
    value: str
    detail: str = ""
    command: str = "aiguillage bench"
    #: 1-minute load average when the figure was taken
    load: float = dataclasses.field(default_factory=load_average)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _p50_p95(samples: Iterable[float]) -> str:
    values = np.array(list(samples))
    p50, p95 = np.percentile(values, [50, 95])
    return f"{_ms(p50)} / {_ms(p95)}"


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _samples(calls: Iterable[Callable[[], Any]]) -> list[float]:
    out = []
    for call in calls:
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def peak_rss_mb() -> float:
    """Maximum resident memory of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def varied_messages(count: int, communes: list[Any], rng: random.Random) -> list[str]:
    """`count` messages from the templates, with random communes, postal codes, ages and amounts."""
    out = []
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        commune = rng.choice(communes)
        out.append(
            template.format(
                commune=commune.nom, cp=(commune.codes_postaux or ("62530",))[0], age=rng.randint(16, 70),
                n=rng.randint(1, 4), a1=rng.randint(1, 9), a2=rng.randint(10, 17), months=rng.randint(2, 30),
                qf=rng.randint(300, 1600), amount=f"{rng.randint(5, 35) * 100:,}".replace(",", " "),
            )
        )  # fmt: skip
    rng.shuffle(out)
    return out


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    load = f", charge moyenne au départ {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{cores} cœurs ({cpu}), {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}{load}"
    )


def run_bench(n_messages: int, progress: Callable[[str], None] = lambda _m: None) -> list[Row]:
    from bot.dialogue.api import Incoming
    from bot.dialogue.engine import DialogueEngine
    from bot.dialogue.warm_up import warm_up
    from bot.nlu.classifier import data_fingerprint
    from bot.nlu.data import load_examples
    from bot.nlu.interpreter import Interpreter, default_model_path, load_classifier, train_and_save
    from bot.nlu.model_file import OutdatedModel
    from bot.nlu.situation import load_readers
    from bot.nlu.vectors import WordVectors, default_vectors_path
    from knowledge import gazetteer as gazetteer_module
    from knowledge.eligibility import EligibilityEngine
    from knowledge.gazetteer import Gazetteer
    from knowledge.kb import KnowledgeBase
    from knowledge.search import ServiceSearch

    rng = random.Random(SEED)
    rows: list[Row] = []

    progress("référentiel des communes")
    clear = getattr(gazetteer_module._load_cached, "cache_clear", None)  # time a cold load
    if clear is not None:
        clear()
    gazetteer, seconds = _timed(Gazetteer.load)
    rows.append(Row("Chargement du référentiel des communes", _s(seconds),
                    f"{len(gazetteer):,} communes (CSV de knowledge/data/)".replace(",", " ")))  # fmt: skip

    progress("base de connaissances")
    # kept until the end: the places' details are read from this database when shown
    folder = tempfile.TemporaryDirectory(prefix="aiguillage-bench-")
    url = f"sqlite:///{Path(folder.name) / 'bench.sqlite3'}"
    kb, cold = _timed(lambda: KnowledgeBase.load(url))
    kb, warm = _timed(lambda: KnowledgeBase.load(url))
    rows.append(Row("Chargement de la base de connaissances, base neuve", _s(cold),
                    "SQLite : migrations Alembic + synchronisation du contenu YAML + import des annuaires "
                    "(France Services, mairies, annuaire de 2019) + lecture (référentiel déjà chargé)"))  # fmt: skip
    rows.append(Row("Chargement de la base de connaissances, base à jour", _s(warm),
                    f"{len(kb.schemes)} dispositifs, {len(kb.services)} services, "
                    + f"{len(kb.places):,}".replace(",", " ") + " lieux d'annuaire indexés"))  # fmt: skip

    progress("modèle de langue")
    model_path = default_model_path()
    fresh = False
    try:
        current = load_classifier(model_path, auto_train=False).meta.get("fingerprint")
    except (FileNotFoundError, OutdatedModel):
        current = None
    if current != data_fingerprint(load_examples()):
        _, seconds = _timed(lambda: train_and_save(out=model_path))
        rows.append(Row("Entraînement du modèle de langue (absent ou périmé)", _s(seconds)))
        fresh = True
    _, vectors_seconds = _timed(lambda: WordVectors.load(default_vectors_path()))
    classifier, clf_seconds = _timed(lambda: load_classifier(model_path))
    readers, reader_seconds = _timed(lambda: load_readers(model_path.parent))
    interpreter = Interpreter(kb, classifier, readers["fr"], readers)
    rows.append(Row("Chargement du modèle de langue", _s(vectors_seconds + clf_seconds + reader_seconds),
                    f"vecteurs de mots de fr_core_news_md {_s(vectors_seconds)} + classifieur {_s(clf_seconds)}"
                    f" + lecteurs de situations (français, anglais) {_s(reader_seconds)}"
                    + (" (juste entraîné)" if fresh else "")))  # fmt: skip

    progress(f"analyse de {n_messages} messages")
    messages = varied_messages(n_messages, list(kb.gazetteer), rng)
    for text in messages[:5]:
        interpreter.parse(text)  # warm-up
    samples = _samples(lambda t=text: interpreter.parse(t) for text in messages)
    rows.append(Row("Analyse NLU d'un message (p50 / p95)", _p50_p95(samples),
                    f"{len(messages)} messages variés : intention + situation + entités"))  # fmt: skip

    progress("conversations")
    engine = DialogueEngine(kb, interpreter)
    warm_up(engine, channel="bench")  # as the HTTP server and the Telegram bot do before the first person
    rounds = max(2, n_messages // 50)
    turns: list[float] = []
    for _ in range(rounds):
        for script in CONVERSATIONS:
            state = engine.new_state()
            for step in script:
                if isinstance(step, dict):
                    lat, lon = step["location"]
                    incoming = Incoming(latitude=lat, longitude=lon, channel="bench")
                else:
                    incoming = Incoming(text=step, channel="bench")
                turn, seconds = _timed(lambda i=incoming, s=state: engine.handle(s, i))
                turns.append(seconds)
                state = engine.new_state() if turn.erase else turn.state
    rows.append(Row("Tour de dialogue complet (p50 / p95)", _p50_p95(turns),
                    f"{len(turns)} tours, {len(CONVERSATIONS)} conversations scriptées × {rounds}, après le "
                    "tour d'échauffement des serveurs : NLU + état + politique + actions"))  # fmt: skip

    progress("services les plus proches")
    search = ServiceSearch(kb)
    communes = [c for c in kb.gazetteer if not c.is_arrondissement]
    themes = sorted({t for s in kb.services for t in s.thematiques})
    queries = [(rng.choice(communes), rng.choice([None, *themes])) for _ in range(500)]
    search.nearest(commune=queries[0][0])  # builds the coordinate arrays
    samples = _samples(
        lambda c=c, t=t: search.nearest(commune=c, themes=[t] if t else None) for c, t in queries
    )
    rows.append(Row("Services les plus proches (p50 / p95)", _p50_p95(samples),
                    f"{len(queries)} requêtes, commune au hasard, zone respectée, "
                    f"{len(kb.services)} services"))  # fmt: skip

    progress("lieux réels (France Services, mairies)")
    rows += place_rows(kb, rng.sample(communes, 300))

    progress("recherche textuelle")
    texts = [rng.choice(SEARCH_QUERIES) for _ in range(200)]
    search.search(texts[0])
    samples = _samples(lambda q=q: search.search(q) for q in texts)
    rows.append(Row("Recherche textuelle tolérante (p50 / p95)", _p50_p95(samples),
                    f"{len(texts)} requêtes avec fautes (dispositifs + services)"))  # fmt: skip

    progress("éligibilité")
    eligibility = EligibilityEngine(kb.gazetteer)
    schemes = list(kb.schemes.values())
    fact_sets = [random_facts(rng, communes) for _ in range(300)]
    samples = _samples(lambda f=f: eligibility.evaluate_all(schemes, f) for f in fact_sets)
    rows.append(Row("Éligibilité de tous les dispositifs (p50)", _ms(float(np.percentile(samples, 50))),
                    f"{len(schemes)} dispositifs, {len(fact_sets)} situations au hasard"))  # fmt: skip

    rss = peak_rss_mb()

    progress("montée en charge des services")
    scaled = scaled_services(kb.services, 100, rng)
    big = ServiceSearch(SimpleNamespace(services=scaled, schemes=kb.schemes))  # type: ignore[arg-type]
    big.nearest(commune=queries[0][0])
    samples = _samples(
        lambda c=c, t=t: big.nearest(commune=c, themes=[t] if t else None) for c, t in queries[:100]
    )
    rows.append(Row("Services les plus proches, 100 × plus de services (p50 / p95)", _p50_p95(samples),
                    f"{len(scaled):,}".replace(",", " ") + " services synthétiques (copies déplacées) ; arbre k-d et masques"))  # fmt: skip

    rows.append(Row("Mémoire maximale (RSS)", f"{rss:.0f} Mo",
                    "assistant chargé (référentiel, base, spaCy, classifieur), avant la montée en charge"))  # fmt: skip
    folder.cleanup()
    return rows


def place_rows(kb: Any, communes: list[Any]) -> list[Row]:
    """Nearest France Services and the commune's mairie: first read (database) and cached."""
    from actions.places import mairie_of, nearest_france_services

    points = [(c.latitude, c.longitude) for c in communes]
    first = _samples(lambda p=p: nearest_france_services(kb, p, limit=1) for p in points)
    again = _samples(lambda p=p: nearest_france_services(kb, p, limit=1) for p in points)
    source = next(iter(kb.places.sources()), None)
    index_only = _samples(lambda p=p: kb.places.distances(source, *p).argmin() for p in points) if source else []
    mairies = _samples(lambda c=c: mairie_of(kb, c) for c in communes)
    count = len(communes)
    rows = [
        Row("France Services la plus proche, 1re lecture (p50 / p95)", _p50_p95(first),
            f"{count} communes au hasard : distance à 2 845 lieux (numpy) + fiche lue en base"),
        Row("France Services la plus proche, fiche en cache (p50 / p95)", _p50_p95(again), "mêmes requêtes"),
        Row("Mairie de la commune, par code INSEE (p50 / p95)", _p50_p95(mairies),
            f"{count} communes, fiche lue en base"),
    ]  # fmt: skip
    if index_only:
        rows.append(Row("Distance aux lieux d'un annuaire seule (p50 / p95)", _p50_p95(index_only),
                        "un annuaire (" + f"{kb.places.count(source):,}".replace(",", " ") + " lieux), sans lecture en base"))
    return rows


def random_facts(rng: random.Random, communes: list[Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if rng.random() < 0.8:
        facts["commune"] = rng.choice(communes).code_insee
    if rng.random() < 0.7:
        facts["age"] = rng.randint(16, 80)
    if rng.random() < 0.6:
        ages = [round(rng.uniform(0.2, 18), 2) for _ in range(rng.randint(0, 3))]
        facts["children_count"], facts["children_ages"] = len(ages), ages
    if rng.random() < 0.6:
        facts["situation"] = rng.choice(
            ["salarie", "demandeur_emploi", "beneficiaire_rsa", "etudiant", "retraite"]
        )
    if rng.random() < 0.4:
        facts["monthly_income"], facts["household_adults"] = rng.randint(0, 5000), rng.choice([1, 2])
    if rng.random() < 0.3:
        facts["quotient_familial"] = rng.randint(200, 2000)
    if rng.random() < 0.4:
        facts["housing"] = rng.choice(["locataire", "proprietaire", "heberge"])
    return facts


def scaled_services(services: list[Any], factor: int, rng: random.Random) -> list[Any]:
    """`factor` copies of each service, moved up to ~50 km (same zones and themes)."""
    out = []
    for copy in range(factor):
        for service in services:
            lat, lon = service.latitude, service.longitude
            if lat is not None and lon is not None:
                lat, lon = lat + rng.uniform(-0.4, 0.4), lon + rng.uniform(-0.6, 0.6)
            out.append(dataclasses.replace(service, id=f"{service.id}-{copy}", latitude=lat, longitude=lon))
    return out


def markdown(rows: list[Row], command: str) -> str:
    lines = [
        "# Mesures de performance",
        "",
        f"- Date : {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- Machine : {machine_line()}",
        f"- Commande : `{command}`",
        "- La machine est partagée et chargée : la charge moyenne (1 min, pour 2 cœurs) est notée à côté de "
        "chaque mesure, prise juste après elle. Au-dessus de 2, les latences sont gonflées.",
        "",
        "| mesure | valeur | détail | commande | charge |",
        "|---|---:|---|---|---:|",
    ]
    lines += [f"| {r.label} | {r.value} | {r.detail} | `{r.command}` | {r.load:.1f} |" for r in rows]
    lines += [
        "",
        "p50 : médiane ; p95 : 95 % des appels sont plus rapides. « En processus » : un seul processus, sans HTTP.",
        "",
    ]
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    quick = bool(getattr(args, "quick", False))
    n_messages = 40 if quick and args.messages == 200 else max(10, int(args.messages))
    places = int(getattr(args, "places", 150_000))
    started = time.perf_counter()

    def progress(step: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {step}…", file=sys.stderr, flush=True)

    mode = getattr(args, "openfisca", "off")
    command = "aiguillage bench" + (" --quick" if quick else f" --messages {n_messages}")
    command += "" if places == 150_000 else f" --places {places}"
    command += "" if mode == "off" else f" --openfisca {mode}"
    rows = [] if mode == "only" else run_bench(n_messages, progress)
    for row in rows:
        row.command = command
    if mode != "only":
        from bot.bench_scale import run_scale

        if places > 0:
            rows += run_scale(places, random.Random(SEED), Row, _p50_p95, progress)
        if not getattr(args, "no_processes", False):
            from bot.bench_http import http_rows
            from bot.bench_start import start_rows

            rows += start_rows(Row, progress)
            rows += http_rows(Row, quick, progress)
    if mode != "off":
        from bot.bench_benefits import run_benefits_bench

        rows += run_benefits_bench(progress, workers=getattr(args, "openfisca_workers", 1))
    table = markdown(rows, command + (f" --output {args.output}" if args.output else ""))
    print(table)
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(replace_measured(path.read_text(encoding="utf-8") if path.exists() else "", table),
                        encoding="utf-8")
        print(f"Tableau écrit dans {path}", file=sys.stderr)
    return 0


#: the generated table sits between these lines of the output file; the rest of it is kept
BEGIN, END = "<!-- aiguillage bench : début -->", "<!-- aiguillage bench : fin -->"


def replace_measured(document: str, table: str) -> str:
    """`document` with its generated part replaced by `table` (the whole file when it has none)."""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        return f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}"
    return f"{BEGIN}\n{table}\n{END}\n"
