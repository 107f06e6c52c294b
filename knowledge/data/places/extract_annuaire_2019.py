#!/usr/bin/env python3
"""Make annuaire-social-2019.csv from the okfnfr/dada-france-authorities files emails_valide*.csv
(Alaveteli format, August 2019): keep the social-help organisation types and split the `notes` text
into address / postcode / commune / phone. Same logic as the extract kept beside the source data
(`../shared/data/annuaire-2019-dada/extract.py`), laid out for this project.

    python extract_annuaire_2019.py DIR_OF_EMAILS_VALIDE_FILES   # writes annuaire_social_2019.csv here
"""

from __future__ import annotations

import collections
import csv
import glob
import re
import sys

KEEP = {"mission_locale", "maison_handicapees", "cidf", "pmi", "clic", "pif", "adil", "mjd", "msap",
        "accompagnement_personnes_agees", "caf", "cpam", "msa", "cij", "permanence_juridique", "maia"}  # fmt: skip
ADDRESS = re.compile(r"Adresse : (.*?),\s*(\d{5})\s*,\s*([^|]*?)\s*(\||$)")
PHONE = re.compile(r"Tél : ([^|]*)")
HEADER = ["id_annuaire", "type", "nom", "email", "adresse", "code_postal", "commune", "departement", "telephone", "site"]


def main(source: str) -> None:
    seen: set[str] = set()
    counts: collections.Counter[str] = collections.Counter()
    with open("annuaire_social_2019.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for path in sorted(glob.glob(f"{source}/emails_valide*.csv")):
            with open(path, encoding="utf-8") as rows:
                for row in csv.DictReader(rows):
                    tags = set(row["tag_string"].split()) & KEEP
                    if not tags or row["#id"] in seen:
                        continue
                    seen.add(row["#id"])
                    address, phone = ADDRESS.search(row["notes"]), PHONE.search(row["notes"])
                    street, postal, commune = ((address.group(1).strip(), address.group(2), address.group(3).strip())
                                               if address else ("", "", ""))
                    departement = (postal[:3] if postal.startswith("97") else postal[:2]) if postal else ""
                    if postal.startswith("20"):
                        departement = "2A/2B"
                    kind = sorted(tags)[0]
                    counts[kind] += 1
                    out.writerow([row["#id"], kind, row["name"], row["request_email"], street, postal, commune,
                                  departement, phone.group(1).strip() if phone else "", row["home_page"]])
    print(sum(counts.values()), dict(counts))


if __name__ == "__main__":
    main(sys.argv[1])
