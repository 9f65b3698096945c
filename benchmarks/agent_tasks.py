"""Realistic tool tasks for an agent, scored on its final answers: arithmetic, SQL over a generated
shop database, questions over an ingested document set, time-zone conversion, multi-step tasks
(SQL or a document, then arithmetic) and requests no tool fits. The utility, sql and rag servers
are bound at once, as a user would bind them.

The tasks are ``benchmarks/data/agent_tasks/tasks.toml`` and the documents sit beside it; the
database is generated from a fixed seed. Every expected answer is computed (arithmetic by the
utility server's evaluator, SQL by its reference query, times by zoneinfo) except the facts the
documents state. Within each family the tasks alternate between a ``tune`` split (to look at while
improving the agent) and a ``score`` split (to report).

Scoring is strict: a number must equal the expected one as a whole number token (``12`` does not
match ``112``) and the answer may hold at most ``MAX_OTHER_NUMBERS`` numbers beyond the question's
own; a name must appear as a phrase, with no rival name from the same column; a time must appear
as a clock time; a ``no_tool`` task must be answered without calling a tool. An empty answer, an
error or a run paused for approval is wrong.

Run it with ``python -m benchmarks.agent_tasks [--model local] [--pattern react] [--split score]
[--family sql] [--limit N]``; it prints a table per family and writes every task's record (answer,
tool calls, seconds, verdict) to ``benchmarks/.cache/agent_tasks/<model>-<pattern>-<split>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks._common import hardware
from mcploom.mcp_servers.utility import evaluate

DATA = Path(__file__).parent / "data" / "agent_tasks"
CACHE = Path(__file__).parent / ".cache" / "agent_tasks"
FAMILIES = ("arithmetic", "sql", "docs", "time", "multi", "no_tool")
MAX_OTHER_NUMBERS = 4
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
_CLOCK = re.compile(r"(?<![\d:+\-])(\d{1,2})(?::(\d{2})(?::\d{2})?)?\s*(?:([ap])\.?m\b\.?)?", re.IGNORECASE)


@dataclass(frozen=True)
class Task:
    """One question and what a right final answer holds."""

    id: str
    family: str
    split: str
    question: str
    number: float | None = None
    text: str | None = None
    distractors: tuple[str, ...] = ()
    clock: str | None = None  # "HH:MM"
    no_tool: bool = False


@dataclass
class Record:
    """What happened on one task."""

    task: str
    family: str
    right: bool
    why: str
    answer: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


# --- the data -------------------------------------------------------------------------------------

_PRODUCTS = {
    "tea": ["Sencha Green", "Earl Grey Supreme", "Assam Breakfast", "Jasmine Pearl"],
    "coffee": ["Ethiopia Yirgacheffe", "Colombia Huila", "House Espresso", "Decaf Swiss Water"],
    "kitchen": ["Copper Kettle", "Pour-Over Stand", "Glass Teapot", "Burr Grinder"],
    "books": ["The Tea Atlas", "Coffee Science", "Brewing at Home"],
}
_FIRST = ["Ana", "Bruno", "Chiara", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jonas", "Kaia", "Luca"]
_LAST = ["Moreau", "Silva", "Berg", "Nowak", "Peeters", "Rossi", "Lindqvist", "Costa", "Dubois", "Haugen"]
_CITIES = {"Lyon": 9, "Porto": 7, "Oslo": 6, "Krakow": 5, "Ghent": 4, "Turin": 3}


def build_shop(path: Path, seed: int = 2) -> None:
    """Write the shop database (customers, products, orders) generated from ``seed``."""
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, joined_year INTEGER);
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, price REAL);
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
            product_id INTEGER REFERENCES products(id), quantity INTEGER, order_date TEXT
        );
        """
    )
    names = rng.sample([f"{first} {last}" for first in _FIRST for last in _LAST], 40)
    cities = rng.choices(list(_CITIES), weights=list(_CITIES.values()), k=len(names))
    db.executemany(
        "INSERT INTO customers (name, city, joined_year) VALUES (?, ?, ?)",
        [(name, city, rng.randint(2020, 2025)) for name, city in zip(names, cities, strict=True)],
    )
    products = [
        (name, category, round(rng.uniform(4, 120), 2)) for category, items in _PRODUCTS.items() for name in items
    ]
    db.executemany("INSERT INTO products (name, category, price) VALUES (?, ?, ?)", products)
    orders = []
    for _ in range(300):
        day = date.fromordinal(date(2025, 1, 1).toordinal() + rng.randrange(365))
        orders.append((rng.randint(1, len(names)), rng.randint(1, len(products)), rng.randint(1, 5), day.isoformat()))
    db.executemany("INSERT INTO orders (customer_id, product_id, quantity, order_date) VALUES (?, ?, ?, ?)", orders)
    db.commit()
    db.close()


def load_tasks(db_path: Path) -> list[Task]:
    """The tasks of ``tasks.toml`` with their expected answers computed against ``db_path``."""
    entries = tomllib.loads((DATA / "tasks.toml").read_text())["task"]
    db = sqlite3.connect(db_path)
    seen: dict[str, int] = {}
    tasks = []
    for entry in entries:
        family = entry["family"]
        index = seen[family] = seen.get(family, -1) + 1
        tasks.append(
            Task(
                id=f"{family}-{index + 1:02d}",
                family=family,
                split="tune" if index % 2 == 0 else "score",
                question=entry["question"],
                **_expected(entry, db),
            )
        )
    db.close()
    return tasks


def _expected(entry: dict[str, Any], db: sqlite3.Connection) -> dict[str, Any]:
    if "number" in entry:
        return {"number": float(evaluate(entry["number"]))}
    if "sql_number" in entry:
        value = db.execute(entry["sql_number"]).fetchone()[0]
        if "then" in entry:
            value = evaluate(entry["then"].format(x=repr(float(value))))
        return {"number": round(float(value), 6)}
    if "sql_text" in entry:
        rows = db.execute(entry["sql_text"]).fetchall()
        if len(rows) > 1 and rows[0][1] == rows[1][1]:
            raise ValueError(f"{entry['question']!r}: the top two rows tie ({rows}); the data must decide it")
        rivals = [row[0] for row in db.execute(entry["sql_distractors"]) if row[0] != rows[0][0]]
        return {"text": rows[0][0], "distractors": tuple(rivals)}
    if "time" in entry:
        spec = entry["time"]
        moment = datetime.fromisoformat(spec["at"]).replace(tzinfo=ZoneInfo(spec["from"]))
        return {"clock": moment.astimezone(ZoneInfo(spec["to"])).strftime("%H:%M")}
    if "weekday" in entry:
        weekday = date.fromisoformat(entry["weekday"]).strftime("%A")
        return {"text": weekday, "distractors": tuple(d.title() for d in WEEKDAYS if d != weekday.lower())}
    expected: dict[str, Any] = {"no_tool": bool(entry.get("no_tool"))}
    if "text" in entry:
        expected["text"] = entry["text"]
        expected["distractors"] = tuple(entry.get("distractors", ()))
    if not expected["no_tool"] and "text" not in expected:
        raise ValueError(f"{entry['question']!r}: says nothing about its answer")
    return expected


# --- scoring --------------------------------------------------------------------------------------


def numbers(text: str) -> list[float]:
    """The numbers written in ``text`` (``1,234.5`` is one number; ``v2.3`` and ``E4`` are none)."""
    return [float(match.group().replace(",", "")) for match in _NUMBER.finditer(text)]


def clocks(text: str) -> set[str]:
    """The clock times in ``text`` as ``HH:MM`` (``6:00 PM`` is ``18:00``; UTC offsets are skipped)."""
    found = set()
    for hours, minutes, half in _CLOCK.findall(text):
        if not minutes and not half:
            continue  # a bare number, not a time
        hour = int(hours) % 12 + (12 if half.lower() == "p" else 0) if half else int(hours)
        found.add(f"{hour:02d}:{minutes or '00'}")
    return found


def _phrase(needle: str, text: str) -> bool:
    """Whether ``needle`` is in ``text`` as whole words (a plural ``s`` allowed: "on Thursdays")."""
    return re.search(rf"(?<!\w){re.escape(needle.casefold())}s?(?!\w)", text.casefold()) is not None


def score(task: Task, answer: str, tool_calls: Sequence[dict[str, Any]]) -> tuple[bool, str]:
    """Whether ``answer`` is right for ``task``, and why not."""
    if not answer.strip():
        return False, "empty answer"
    if task.no_tool and tool_calls:
        return False, f"called {', '.join(call['name'] for call in tool_calls)} where no tool fits"
    if task.number is not None:
        given = numbers(answer)
        if not any(abs(value - task.number) <= 0.005 + 1e-9 * abs(task.number) for value in given):
            return False, f"expected {task.number:g}, the answer has {given[:6]}"
        asked = set(numbers(task.question))
        others = {value for value in given if value not in asked and value != task.number}
        if len(others) > MAX_OTHER_NUMBERS:
            return False, f"the right number among {len(others)} others"
        return True, ""
    if task.clock is not None:
        found = clocks(answer)
        if task.clock not in found:
            return False, f"expected {task.clock}, the answer has {sorted(found)}"
        return True, ""
    if task.text is not None:
        if not _phrase(task.text, answer):
            return False, f"expected {task.text!r}"
        rivals = [rival for rival in task.distractors if _phrase(rival, answer)]
        if rivals:
            return False, f"also names {rivals[:3]}"
    return True, ""


# --- running --------------------------------------------------------------------------------------


@contextmanager
def workspace() -> Iterator[tuple[dict[str, Any], Path]]:
    """The servers' config (utility, sql on the shop, rag over the documents) and the shop's path."""
    from mcploom import rag
    from mcploom.mcp_servers import server_entry

    with tempfile.TemporaryDirectory(prefix="agent-tasks-") as folder:
        shop, index = Path(folder) / "shop.db", Path(folder) / "rag"
        build_shop(shop)
        rag.open_index(index, rag.DEFAULT_COLLECTION).ingest([DATA / "docs"])
        servers = {
            "utility": server_entry("utility"),
            "sql": server_entry("sql", [str(shop)]),
            "rag": server_entry("rag", ["--data-dir", str(index)]),
        }
        yield servers, shop


def run_tasks(model: str, pattern: str, tasks: Sequence[Task], servers: dict[str, Any]) -> Iterator[Record]:
    """Each task in a fresh thread of one agent (the servers and the model stay loaded)."""
    from mcploom import Agent

    with Agent(model=model, servers=servers, pattern=pattern, checkpointer="memory") as agent:  # type: ignore[arg-type]
        for task in tasks:
            started = time.perf_counter()
            try:
                result = agent.run(task.question)
                answer, calls = result.answer, result.tool_calls
                right, why = score(task, answer, calls)
                if result.pending:
                    right, why = False, f"paused for approval of {[call.name for call in result.pending]}"
            except Exception as exc:  # noqa: BLE001 - a failed run is a wrong answer, recorded with its error
                answer, calls, right, why = "", [], False, f"{type(exc).__name__}: {exc}"
            record = Record(task.id, task.family, right, why, answer, list(calls), time.perf_counter() - started)
            mark = "ok " if right else "BAD"
            print(f"{mark} {task.id} {record.seconds:5.1f}s {answer[:90]!r} {why}", file=sys.stderr, flush=True)
            yield record


def rescored(path: Path) -> list[Record]:
    """The records in ``path`` scored again from their answers (after a change to the scorer); a run
    that failed or paused stays wrong."""
    with tempfile.TemporaryDirectory() as folder:
        build_shop(Path(folder) / "shop.db")
        tasks = {task.id: task for task in load_tasks(Path(folder) / "shop.db")}
    records = [Record(**entry) for entry in json.loads(path.read_text())]
    for record in records:
        if record.answer and not record.why.startswith("paused"):
            record.right, record.why = score(tasks[record.task], record.answer, record.tool_calls)
    return records


def table(records: Sequence[Record], title: str) -> str:
    """Right answers and median seconds per family, then overall, as a markdown table."""
    lines = [f"**{title}**", "", "| family | right | median s |", "|---|---:|---:|"]
    groups = [(family, [r for r in records if r.family == family]) for family in FAMILIES]
    for family, group in [*groups, ("all", list(records))]:
        if group:
            right = sum(r.right for r in group)
            seconds = statistics.median(r.seconds for r in group)
            label = f"**{family}**" if family == "all" else family
            lines.append(f"| {label} | {right}/{len(group)} ({100 * right / len(group):.0f}%) | {seconds:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="Model spec (default: the bundled local model).")
    parser.add_argument("--pattern", default="react", help="Agent pattern (default: react).")
    parser.add_argument("--split", default="score", choices=["tune", "score", "all"])
    parser.add_argument("--family", action="append", choices=FAMILIES, help="Only these families (repeatable).")
    parser.add_argument("--limit", type=int, help="At most this many tasks per family.")
    parser.add_argument("--task", action="append", help="Only these task ids, e.g. sql-03 (repeatable).")
    parser.add_argument("--from-records", type=Path, help="Print the table of a records file instead of running.")
    options = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if options.from_records:
        print(table(rescored(options.from_records), f"{options.from_records.name}, rescored"))
        return
    with workspace() as (servers, shop):
        tasks = [t for t in load_tasks(shop) if options.split in ("all", t.split)]
        tasks = [t for t in tasks if not options.family or t.family in options.family]
        tasks = [t for t in tasks if not options.task or t.id in options.task]
        if options.limit:
            tasks = [t for family in FAMILIES for t in [t for t in tasks if t.family == family][: options.limit]]
        CACHE.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]", "_", f"{options.model}-{options.pattern}-{options.split}")
        records = []
        for record in run_tasks(options.model, options.pattern, tasks, servers):
            records.append(record)  # written as they come, so a run cut short keeps what it did
            (CACHE / f"{name}.json").write_text(json.dumps([asdict(r) for r in records], indent=1))
    title = f"{options.model}, {options.pattern}, {options.split} split ({len(records)} tasks)"
    print(f"Hardware: {hardware()}\n")
    print(table(records, title))


if __name__ == "__main__":
    main()
