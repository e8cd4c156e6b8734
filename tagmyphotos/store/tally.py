"""How many faces are in each state, per person, band and "in a group": kept by the database.

Why: the header, the Review page, the People page and every "page 2 of N" need counts over the
whole face table; counted per page view they grow with the library (400k suggested faces at
500k photos) although each page shows one page of items. The counts are kept in `face_tally`
by triggers on the face table, so every writer (analysis, suggestion refresh, review, undo,
merge, purge, cascades) keeps them right inside its own transaction without knowing of them.

SQLite (one writer at a time) keeps one row per key, updated in place. PostgreSQL runs writers
side by side: updating a few hot rows would make them wait for, and deadlock with, each other,
so its statement triggers only append the net change of a statement; a reader that finds many
rows folds them into one per key (`compact`), which never conflicts with a writer appending.
A reader sums per key either way. `differences` compares the tally with a full count.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from tagmyphotos.store import models as m

# PostgreSQL: fold the appended rows when there are this many more than keys.
COMPACT_SLACK = 500


def key_sql(row: str) -> str:
    """The tally key of a face row (`row`: NEW, OLD or a table alias), as four SQL values.

    person: the confirmed person of a confirmed face, the suggested person of a suggested face,
    0 otherwise; band: a suggested face's band ('' if none); clustered: 1 in a group, 0 not."""
    return (
        f"{row}.state, "
        f"CASE {row}.state WHEN 'confirmed' THEN COALESCE({row}.person_id, 0) "
        f"WHEN 'suggested' THEN COALESCE({row}.suggested_person_id, 0) ELSE 0 END, "
        f"CASE WHEN {row}.state = 'suggested' THEN COALESCE({row}.band, '') ELSE '' END, "
        f"CASE WHEN {row}.cluster IS NULL THEN 0 ELSE 1 END"
    )


class FaceTally(m.BaseModel):
    """One count per key on SQLite; on PostgreSQL appended changes, summed per key."""

    state = pw.CharField()
    person = pw.IntegerField()
    band = pw.CharField()
    clustered = pw.IntegerField()
    n = pw.BigIntegerField()

    class Meta:
        table_name = "face_tally"
        primary_key = False


@dataclass(frozen=True)
class TallyKey:
    state: str
    person: int  # 0: none
    band: str  # '' : none or not suggested
    clustered: bool


def true_counts() -> dict[TallyKey, int]:
    """The counts from the face table itself (a full scan: for checks and tests, not pages)."""
    cursor = m.database.execute_sql(f"SELECT {key_sql('f')}, COUNT(*) FROM face f GROUP BY 1, 2, 3, 4")
    return {_key(r): int(r[4]) for r in cursor.fetchall()}


def counts() -> dict[TallyKey, int]:
    """The kept counts, one per key with faces (a few hundred rows, whatever the library's size)."""
    cursor = m.database.execute_sql(
        "SELECT state, person, band, clustered, SUM(n), COUNT(*) FROM face_tally GROUP BY 1, 2, 3, 4"
    )
    found = cursor.fetchall()
    if isinstance(m.database.obj, pw.PostgresqlDatabase) and sum(r[5] for r in found) > len(found) + COMPACT_SLACK:
        compact()
    return {_key(r): int(r[4]) for r in found if int(r[4])}


def per_state() -> dict[str, int]:
    """Faces per state (the header's figures): summed by the database, a few rows back."""
    found = m.database.execute_sql("SELECT state, SUM(n), COUNT(*) FROM face_tally GROUP BY state").fetchall()
    if isinstance(m.database.obj, pw.PostgresqlDatabase) and sum(r[2] for r in found) > COMPACT_SLACK:
        counts()  # folds the appended rows if they outnumber the keys (a read of one row per key)
    return {str(state): int(n) for state, n, _ in found if int(n)}


def _key(row: tuple[object, ...]) -> TallyKey:
    return TallyKey(str(row[0]), int(str(row[1])), str(row[2]), bool(int(str(row[3]))))


def compact() -> None:
    """PostgreSQL: one row per key again. Rows appended meanwhile are not seen and stay."""
    with m.database.atomic():
        m.database.execute_sql(
            "WITH gone AS (DELETE FROM face_tally RETURNING state, person, band, clustered, n) "
            "INSERT INTO face_tally (state, person, band, clustered, n) "
            "SELECT state, person, band, clustered, SUM(n) FROM gone GROUP BY 1, 2, 3, 4 HAVING SUM(n) <> 0"
        )


def count(
    state: str | None = None, person: int | None = None, band: str | None = None, clustered: bool | None = None
) -> int:
    """Faces with these key values (None: any), summed by the database (an index seek on SQLite)."""
    where = FaceTally.n.is_null(False)
    for column, value in ((FaceTally.state, state), (FaceTally.person, person), (FaceTally.band, band)):
        if value is not None:
            where &= column == value
    if clustered is not None:
        where &= FaceTally.clustered == int(clustered)
    return int(FaceTally.select(pw.fn.COALESCE(pw.fn.SUM(FaceTally.n), 0)).where(where).scalar() or 0)


def differences() -> dict[TallyKey, tuple[int, int]]:
    """Keys whose kept count differs from the true one: {key: (kept, true)}; {} when right."""
    kept, true = counts(), true_counts()
    return {k: (kept.get(k, 0), true.get(k, 0)) for k in set(kept) | set(true) if kept.get(k, 0) != true.get(k, 0)}


def rebuild() -> None:
    """The tally from a full count (the migration's first fill; a repair if ever needed)."""
    with m.database.atomic():
        _fill(m.database)


def _fill(db: pw.Database | pw.DatabaseProxy) -> None:
    db.execute_sql("DELETE FROM face_tally")
    db.execute_sql(
        f"INSERT INTO face_tally (state, person, band, clustered, n) "
        f"SELECT {key_sql('f')}, COUNT(*) FROM face f GROUP BY 1, 2, 3, 4"
    )


# --- the table and its triggers (migration 11) ---------------------------------------------
_TABLE = (
    "CREATE TABLE IF NOT EXISTS face_tally (state VARCHAR(32) NOT NULL, person INTEGER NOT NULL, "
    "band VARCHAR(32) NOT NULL, clustered INTEGER NOT NULL, n BIGINT NOT NULL{key})"
)
_SQLITE_ADD = (
    "INSERT INTO face_tally (state, person, band, clustered, n) VALUES ({key}, {n}) "
    "ON CONFLICT (state, person, band, clustered) DO UPDATE SET n = n + excluded.n;"
)
_SQLITE_TRIGGERS = {
    "face_tally_insert": ("AFTER INSERT ON face", [("NEW", 1)]),
    "face_tally_delete": ("AFTER DELETE ON face", [("OLD", -1)]),
    "face_tally_update": (
        "AFTER UPDATE OF state, person_id, suggested_person_id, band, cluster ON face",
        [("OLD", -1), ("NEW", 1)],
    ),
}
# PostgreSQL: statement triggers with transition tables append each statement's net change.
_PG_CHANGES = {
    "INSERT": "SELECT {new}, 1 FROM new_rows f",
    "DELETE": "SELECT {old}, -1 FROM old_rows f",
    "UPDATE": "SELECT {old}, -1 FROM old_rows f UNION ALL SELECT {new}, 1 FROM new_rows f",
}
_PG_TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def install(db: pw.Database) -> None:
    """Create the tally, its triggers and its first counts (safe to rerun: replaces them)."""
    postgres = isinstance(db, pw.PostgresqlDatabase)
    db.execute_sql(_TABLE.format(key="" if postgres else ", PRIMARY KEY (state, person, band, clustered)"))
    for statement in _pg_triggers() if postgres else _sqlite_triggers():
        db.execute_sql(statement)
    _fill(db)


def _sqlite_triggers() -> list[str]:
    out = []
    for name, (event, steps) in _SQLITE_TRIGGERS.items():
        body = " ".join(_SQLITE_ADD.format(key=key_sql(row), n=n) for row, n in steps)
        out += [f"DROP TRIGGER IF EXISTS {name}", f"CREATE TRIGGER {name} {event} BEGIN {body} END"]
    return out


def _pg_triggers() -> list[str]:
    out = []
    for event, select in _PG_CHANGES.items():
        name = f"face_tally_{event.lower()}"
        change = select.format(new=key_sql("f"), old=key_sql("f"))
        out += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO face_tally (state, person, band, clustered, n) "
            f"SELECT s, p, b, c, SUM(d) FROM ({change}) AS change (s, p, b, c, d) "
            f"GROUP BY s, p, b, c HAVING SUM(d) <> 0; RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON face",
            f"CREATE TRIGGER {name} AFTER {event} ON face REFERENCING {_PG_TABLES[event]} "
            f"FOR EACH STATEMENT EXECUTE PROCEDURE {name}()",
        ]
    return out
