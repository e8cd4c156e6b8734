"""How many photos have an unnamed face: kept by the database, so the Photos page's total of
"photos with unnamed faces" costs the same at 1k and 500k photos.

Why a per-photo counter: the total counts photos, not faces (84% of a library), and a photo
enters it when its first unnamed face appears and leaves when its last one goes. Each photo
keeps `unnamed_faces` (its unknown + suggested faces) in a column the face triggers update in
place; a trigger on the photo row sees that counter cross 0 <-> 1 and moves the photo in or out
of `photo_unnamed_tally` (photos per kind). The counter is an in-place UPDATE of the photo row,
so concurrent writers are serialized by that row's lock: on PostgreSQL (READ COMMITTED) the
second writer waits, then re-reads the committed counter before adding to it, and its photo
trigger's OLD row is that committed version, so each crossing is seen exactly once (no drift).
The face triggers fire only when a face's unnamed-ness or photo changes: the suggestion refresh
(suggested <-> unknown, confidences) never touches a photo row.

The column is not a field of `Photo`: a model saved whole would write a stale counter back.
SQLite keeps one tally row per kind; PostgreSQL appends +1/-1 rows (no hot row for parallel
writers to wait on) that a reader folds once they outnumber the kinds.
"""

from __future__ import annotations

import peewee as pw

from tagmyphotos.store import models as m

COLUMN = "unnamed_faces"
TABLE = "photo_unnamed_tally"
COMPACT_SLACK = 500  # PostgreSQL: fold the appended rows when there are this many
_UNNAMED = f"('{m.FaceState.UNKNOWN.value}', '{m.FaceState.SUGGESTED.value}')"


def unnamed_photos(other_than: str) -> int:
    """Photos of any kind but `other_than` (the Photos page: reference photos are not library
    photos) with at least one unknown or suggested face: a few rows summed."""
    total, rows = m.database.execute_sql(
        f"SELECT COALESCE(SUM(n), 0), COUNT(*) FROM {TABLE} WHERE kind <> %s" % m.database.obj.param,
        (other_than,),
    ).fetchone()
    if isinstance(m.database.obj, pw.PostgresqlDatabase) and int(rows) > COMPACT_SLACK:
        compact()
    return int(total)


def true_unnamed_photos(other_than: str) -> int:
    """The same figure from the face table (a full count: for checks and tests, not pages)."""
    return int(
        m.database.execute_sql(
            f"SELECT COUNT(*) FROM photo p WHERE p.kind <> %s AND EXISTS (SELECT 1 FROM face f "
            f"WHERE f.photo_id = p.id AND f.state IN {_UNNAMED})" % m.database.obj.param,
            (other_than,),
        ).fetchone()[0]
    )


def counter_differences() -> list[tuple[int, int, int]]:
    """Photos whose kept counter differs from their faces: [(photo, kept, true)]; [] when right."""
    cursor = m.database.execute_sql(
        f"SELECT p.id, p.{COLUMN}, (SELECT COUNT(*) FROM face f WHERE f.photo_id = p.id "
        f"AND f.state IN {_UNNAMED}) AS n FROM photo p"
    )
    return [(int(i), int(kept), int(n)) for i, kept, n in cursor.fetchall() if int(kept) != int(n)]


def compact() -> None:
    """PostgreSQL: one row per kind again (rows appended meanwhile are not seen and stay)."""
    with m.database.atomic():
        m.database.execute_sql(
            f"WITH gone AS (DELETE FROM {TABLE} RETURNING kind, n) INSERT INTO {TABLE} (kind, n) "
            "SELECT kind, SUM(n) FROM gone GROUP BY kind HAVING SUM(n) <> 0"
        )


def install(db: pw.Database) -> None:
    """The counter column, the tally, their triggers and first values (safe to rerun)."""
    postgres = isinstance(db, pw.PostgresqlDatabase)
    if COLUMN not in {c.name for c in db.get_columns("photo")}:
        db.execute_sql(f"ALTER TABLE photo ADD COLUMN {COLUMN} INTEGER NOT NULL DEFAULT 0")
    key = "" if postgres else " PRIMARY KEY"
    db.execute_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (kind VARCHAR(32) NOT NULL{key}, n BIGINT NOT NULL)")
    for statement in _pg_triggers() if postgres else _sqlite_triggers():
        db.execute_sql(statement)
    db.execute_sql(
        f"UPDATE photo SET {COLUMN} = (SELECT COUNT(*) FROM face f WHERE f.photo_id = photo.id "
        f"AND f.state IN {_UNNAMED})"
    )
    db.execute_sql(f"DELETE FROM {TABLE}")
    db.execute_sql(f"INSERT INTO {TABLE} (kind, n) SELECT kind, COUNT(*) FROM photo WHERE {COLUMN} > 0 GROUP BY kind")


# --- triggers --------------------------------------------------------------------------------
# Face side: the photo's counter, only when a face's unnamed-ness or photo changes.
_FACE_EVENTS = {
    "insert": ("INSERT", f"NEW.state IN {_UNNAMED}"),
    "delete": ("DELETE", f"OLD.state IN {_UNNAMED}"),
    "update": (
        "UPDATE OF state, photo_id",
        f"OLD.photo_id <> NEW.photo_id OR (OLD.state IN {_UNNAMED}) <> (NEW.state IN {_UNNAMED})",
    ),
}
_LEAVE = f"UPDATE photo SET {COLUMN} = {COLUMN} - 1 WHERE id = OLD.photo_id"
_ENTER = f"UPDATE photo SET {COLUMN} = {COLUMN} + 1 WHERE id = NEW.photo_id"
# Photo side: the tally, only when the counter crosses 0 <-> 1 (or the kind changes).
_PHOTO_EVENTS = {
    "insert": ("INSERT", f"NEW.{COLUMN} > 0"),
    "delete": ("DELETE", f"OLD.{COLUMN} > 0"),
    "update": (f"UPDATE OF {COLUMN}, kind", f"(OLD.{COLUMN} > 0) <> (NEW.{COLUMN} > 0) OR OLD.kind <> NEW.kind"),
}


def _sqlite_triggers() -> list[str]:
    face_bodies = {
        "insert": f"{_ENTER};",
        "delete": f"{_LEAVE};",
        "update": f"{_LEAVE} AND OLD.state IN {_UNNAMED}; {_ENTER} AND NEW.state IN {_UNNAMED};",
    }
    add = (
        f"INSERT INTO {TABLE} (kind, n) SELECT {{row}}.kind, {{n}} WHERE {{row}}.{COLUMN} > 0 "
        "ON CONFLICT (kind) DO UPDATE SET n = n + excluded.n;"
    )
    photo_bodies = {
        "insert": add.format(row="NEW", n=1),
        "delete": add.format(row="OLD", n=-1),
        "update": add.format(row="OLD", n=-1) + " " + add.format(row="NEW", n=1),
    }
    out = []
    for table, events, bodies in (("face", _FACE_EVENTS, face_bodies), ("photo", _PHOTO_EVENTS, photo_bodies)):
        for op, (event, when) in events.items():
            name = f"{TABLE}_{table}_{op}"
            out += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW WHEN {when} BEGIN {bodies[op]} END",
            ]
    return out


def _pg_triggers() -> list[str]:
    face = (
        f"IF TG_OP <> 'INSERT' AND OLD.state IN {_UNNAMED} THEN {_LEAVE}; END IF; "
        f"IF TG_OP <> 'DELETE' AND NEW.state IN {_UNNAMED} THEN {_ENTER}; END IF;"
    )
    photo = (
        f"IF TG_OP <> 'INSERT' AND OLD.{COLUMN} > 0 THEN INSERT INTO {TABLE} (kind, n) VALUES (OLD.kind, -1); END IF; "
        f"IF TG_OP <> 'DELETE' AND NEW.{COLUMN} > 0 THEN INSERT INTO {TABLE} (kind, n) VALUES (NEW.kind, 1); END IF;"
    )
    out = []
    for table, events, body in (("face", _FACE_EVENTS, face), ("photo", _PHOTO_EVENTS, photo)):
        function = f"{TABLE}_{table}"
        out.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{body} RETURN NULL; END $$"
        )
        for op, (event, when) in events.items():
            name = f"{TABLE}_{table}_{op}"
            out += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW WHEN ({when}) "
                f"EXECUTE PROCEDURE {function}()",
            ]
    return out
