"""`aiguillage bench --output FILE` replaces only its table in FILE (docs/performance.md keeps the
older figures written below it), and every row carries its command and the load average."""

from __future__ import annotations

from bot.bench import BEGIN, END, Row, markdown, replace_measured


def test_the_generated_table_replaces_only_its_part() -> None:
    first = replace_measured("", "tableau 1")
    assert first == f"{BEGIN}\ntableau 1\n{END}\n"
    document = f"# intro\n{first}\n## Mesures antérieures\n| a | b |\n"
    again = replace_measured(document, "tableau 2")
    assert again == f"# intro\n{BEGIN}\ntableau 2\n{END}\n\n## Mesures antérieures\n| a | b |\n"
    assert replace_measured(again, "tableau 3").count(BEGIN) == 1


def test_each_row_has_its_command_and_load() -> None:
    row = Row("Tour", "3 ms", "détail", "aiguillage bench --quick")
    assert row.load >= 0
    table = markdown([row], "aiguillage bench --quick")
    line = next(x for x in table.splitlines() if x.startswith("| Tour"))
    assert line == f"| Tour | 3 ms | détail | `aiguillage bench --quick` | {row.load:.1f} |"
    assert "| mesure | valeur | détail | commande | charge |" in table and "charge moyenne" in table
