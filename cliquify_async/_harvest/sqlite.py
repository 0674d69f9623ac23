"""SQLiteSink: every resource as a table of one SQLite database, upserted run after run.

Each table has `id` as primary key, a column per scalar field of the resource's model, the
item's JSON as sent in `raw`, and the bookkeeping `first_seen`, `last_seen` and `deleted_at`,
each holding the start time of a harvest run. A page's rows and its resource's checkpoint
(`_harvest_state`) are one transaction, so a crash leaves both or neither. A run that ended
starts afresh next time (the incremental re-harvest); at its end, rows it did not see get
`deleted_at` instead of being deleted. `_files` records each downloaded asset file (see
`FileRecord`). `_harvest_source` ties the database to one account;
`<database>.lock` is held (flock) while a harvest writes, and a symlink at the database or its
journal files is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar, TypeVarTuple

import attrs
from attrs import frozen

from .._closing import RenamedClose
from .._disk import OutputLock, refuse_link
from .._endpoints import BY_NAME
from .._fields import union_members
from .._files.manifest import FIELDS, FileRecord, record_of
from .._timestamps import parse_datetime, timestamp
from ..errors import ConfigurationError, ResponseDecodeError
from .sink import Checkpoint, Rejected, check_source, dump_item, has_surrogate, load_item

R = TypeVar("R")
Ts = TypeVarTuple("Ts")

SCHEMA_VERSION: Final = 2
"""Kept in `PRAGMA user_version`: the layout of the bookkeeping, for later migrations (2 added
`_files`)."""
_STORED_BATCH: Final = 500  # rows read back per trip to the writer thread
# Declared column types by field type: SQLite's affinity converts what it can and keeps the rest.
_AFFINITY: Final[Mapping[object, str]] = {
    int: "INTEGER",
    bool: "INTEGER",
    float: "REAL",
    str: "TEXT",
    datetime: "TEXT",
}
_INT64: Final = range(-(2**63), 2**63)
_JOURNALS: Final = ("", "-wal", "-shm", "-journal")  # the files SQLite writes for a database


@frozen
class Column:
    """A typed column: a scalar model field, its declared type ('' keeps values as sent, as
    for ids that are int or str), and whether it holds a timestamp (stored normalised)."""

    name: str
    affinity: str
    timestamp: bool


def model_columns(model: type[Any]) -> tuple[Column, ...]:
    """One column per scalar field of `model`, `id` first; lists (tags) and `extra` stay in raw.

    Derived from the models so that a field added there (the field lists are assumed)
    becomes a column without another list to keep in step.
    """
    columns = []
    for field in attrs.fields(attrs.resolve_types(model)):
        kinds = union_members(field.type)
        if field.name == "extra" or not all(kind in _AFFINITY for kind in kinds):
            continue
        affinities = {_AFFINITY[kind] for kind in kinds}
        affinity = affinities.pop() if len(affinities) == 1 else ""
        columns.append(Column(field.name, affinity, datetime in kinds))
    return tuple(columns)


COLUMNS: Final[Mapping[str, tuple[Column, ...]]] = {
    name: model_columns(endpoint.model) for name, endpoint in BY_NAME.items()
}
"""The typed columns of every resource's table, `id` first."""


def cell(value: Any, column: Column) -> Any:
    """What goes into `column` for `value`: a timestamp normalised (kept as sent if it is not
    one), a scalar as is, an integer past 64 bits or a nested value as its JSON text, a lone
    surrogate (which SQLite text cannot hold) as its escape `\\ud800` (`raw` keeps it)."""
    if column.timestamp and isinstance(value, str):
        try:
            return timestamp(parse_datetime(value))
        except ResponseDecodeError:
            return _text(value)
    if isinstance(value, int) and value not in _INT64:
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, int | float):
        return value
    return dump_item(value)


def _text(value: str) -> str:
    """`value` as valid Unicode: lone surrogates written as their escapes, `\\udc80`."""
    return value.encode("utf-8", "backslashreplace").decode() if has_surrogate(value) else value


def unusable_id(item: object) -> str | None:
    """Why `item` cannot be a row (as a phrase about it), or None if it can: its `id` must be
    an integer SQLite holds (64 bits) or a string of valid Unicode, as the primary key."""
    if not isinstance(item, dict):
        return "that is not an object"
    key = item.get("id")
    if isinstance(key, int) and not isinstance(key, bool):
        return None if key in _INT64 else "whose id is an integer past the 64 bits SQLite holds"
    if isinstance(key, str):
        return "whose id is not valid Unicode (a lone surrogate)" if has_surrogate(key) else None
    return "with no usable id"


def _column_sql(column: Column) -> str:
    key = " NOT NULL PRIMARY KEY" if column.name == "id" else ""
    return f'"{column.name}" {column.affinity}'.rstrip() + key


@frozen
class TableSQL:
    """The statements of one resource's table. Its name and columns come from the endpoint
    table and the models, never from the server, so building them as text is safe."""

    create: str
    upsert: str
    sweep: str
    stored: str

    @classmethod
    def of(cls, name: str) -> TableSQL:
        """The statements of table `name`, built from COLUMNS."""
        columns = COLUMNS[name]
        names = [column.name for column in columns]
        inserted = ", ".join(f'"{n}"' for n in [*names, "raw", "first_seen", "last_seen"])
        updated = ", ".join(f'"{n}" = excluded."{n}"' for n in [*names[1:], "raw", "last_seen"])
        placeholders = ", ".join("?" * (len(names) + 3))
        return cls(
            create=(
                f'CREATE TABLE "{name}" ({", ".join(map(_column_sql, columns))}, '
                '"raw" TEXT NOT NULL, "first_seen" TEXT NOT NULL, "last_seen" TEXT NOT NULL, '
                '"deleted_at" TEXT)'
            ),
            upsert=(
                f'INSERT INTO "{name}" ({inserted}) VALUES ({placeholders}) '  # noqa: S608
                f'ON CONFLICT ("id") DO UPDATE SET {updated}, "deleted_at" = NULL'
            ),
            # Rows this run did not list: it is the last run to have seen them if it set
            # their last_seen, so any other value means gone.
            sweep=(
                f'UPDATE "{name}" SET "deleted_at" = ? '  # noqa: S608 - see the class docstring
                'WHERE "deleted_at" IS NULL AND "last_seen" <> ?'
            ),
            stored=(
                f'SELECT rowid, "raw" FROM "{name}" '  # noqa: S608 - see the class docstring
                'WHERE "last_seen" = ? AND rowid > ? ORDER BY rowid LIMIT ?'
            ),
        )


TABLES: Final[Mapping[str, TableSQL]] = {name: TableSQL.of(name) for name in COLUMNS}
"""The statements of every resource's table."""

_CREATE_BOOKKEEPING: Final = (
    'CREATE TABLE "_harvest_state" ("resource" TEXT NOT NULL PRIMARY KEY, '
    '"run_started" TEXT NOT NULL, "run_finished" TEXT, "pages" INTEGER NOT NULL, '
    '"items" INTEGER NOT NULL, "next_token" TEXT, "page_size" INTEGER)',
    'CREATE TABLE "_harvest_source" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)',
)
_CREATE_FILES: Final = (
    'CREATE TABLE IF NOT EXISTS "_files" ("asset" TEXT NOT NULL PRIMARY KEY, '
    + ", ".join(f'"{name}"' for name in FIELDS[1:])
    + ")"
)
"""The manifest of downloaded files: one row per asset, a column per FileRecord field."""
_SAVE_FILE: Final = f'INSERT OR REPLACE INTO "_files" VALUES ({", ".join("?" * len(FIELDS))})'  # noqa: S608
_FILE_GONE: Final = 'UPDATE "_files" SET "gone_at" = ? WHERE "asset" = ?'


class SQLiteManifest:
    """The `_files` table of an SQLiteSink: its FileManifest, written on the sink's thread."""

    def __init__(self, sink: SQLiteSink) -> None:
        self._sink = sink

    async def records(self) -> dict[str, FileRecord]:
        rows = await self._sink.run(_file_rows)
        found = (record_of(dict(zip(FIELDS, row, strict=True))) for row in rows)
        return {record.asset: record for record in found if record is not None}

    async def save(self, record: FileRecord) -> None:
        values = tuple(getattr(record, name) for name in FIELDS)
        await self._sink.run(_execute, _SAVE_FILE, [values])

    async def mark_gone(self, assets: Collection[str], at: str) -> None:
        await self._sink.run(_execute, _FILE_GONE, [(at, asset) for asset in assets])


def _file_rows(connection: sqlite3.Connection) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{name}"' for name in FIELDS)
    return connection.execute(f'SELECT {columns} FROM "_files"').fetchall()  # noqa: S608


def _execute(connection: sqlite3.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    with _transaction(connection):
        connection.executemany(statement, rows)


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if anything in it fails."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteSink(RenamedClose):
    """Harvests into one SQLite database: a table per resource, upserted on every run.

        `Harvester(client, SQLiteSink("export.db"))`. Tables are named after the resources
        (`assets`, `templates`, ...): `id` (primary key, stored as sent, so `WHERE id = 5` works
        for integer ids), a column per scalar field of the model (timestamps normalised to
        `2026-04-09T14:14:08.000000Z`), `raw` (the item's JSON as sent), and `first_seen`,
        `last_seen` and `deleted_at`, each the start time of a run. Every page commits its rows
        and `_harvest_state` together (WAL, synchronous=FULL): a rerun after a crash goes on from
        the last page committed; a rerun after a finished run lists everything again, updating
        rows, inserting new ones, and setting `deleted_at` on rows no longer listed (a reappearing
        row gets it cleared). Items with no usable `id` are left out and returned for the report
        (the next run lists them again). Asset files go to `<stem>_files/` beside the database,
    recorded in `_files` (the sink's `manifest`).
        `<path>.lock` is held while the sink is open, so a second harvest into the same database
        is refused with OutputLockedError. `clock` gives the run times (aware datetimes).

        sqlite3 blocks, and a durable commit waits for the disk, so every call runs on one
        thread of the sink's own: the event loop goes on serving the listings and downloads, the
        connection never changes threads, and calls keep their order.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._path = Path(path)
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        # Used only on the executor's thread, one call at a time:
        self._connection: sqlite3.Connection | None = None
        self._lock = OutputLock(self._path.with_name(f"{self._path.name}.lock"), str(self._path))
        self._opened: datetime  # set by _open, before anything reads it
        self._runs: dict[str, str] = {}

    def __repr__(self) -> str:
        state = "open" if self._executor is not None else "closed"
        return f"<SQLiteSink {str(self._path)!r} {state}>"

    @property
    def files(self) -> Path:
        """`<stem>_files/` beside the database (`export.db` -> `export_files/`), for downloads."""
        return self._path.with_name(f"{self._path.stem}_files")

    @property
    def manifest(self) -> SQLiteManifest:
        """The record of every downloaded file: the `_files` table."""
        return SQLiteManifest(self)

    async def run(self, function: Callable[[sqlite3.Connection, *Ts], R], *args: *Ts) -> R:
        """`function(connection, *args)` on the sink's thread, between its other calls."""
        return await self._call(lambda: function(self._db(), *args))

    async def open(self, *, base_url: str, client_id: str) -> None:
        """Create or check the database, and tie it to one account."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cliquify-sqlite")
        try:
            await self._call(self._open, base_url, client_id)
        except BaseException:
            await self.aclose()
            raise

    async def start(self, name: str) -> Checkpoint:
        """Go on with the run of `name` a crash interrupted, or start a new run."""
        return await self._call(self._start, name)

    async def stored(self, name: str) -> AsyncIterator[Any]:
        """The items of `name` this run has already committed, read back in batches."""
        after = 0
        while batch := await self._call(self._stored, name, after):
            for _, raw in batch:
                yield load_item(raw)
            after = batch[-1][0]

    async def write(self, name: str, items: Sequence[Any], checkpoint: Checkpoint) -> Rejected:
        """Upsert a page and record `checkpoint` in one transaction; at the end of a listing,
        mark the rows this run did not see as deleted. Returns the items left out."""
        return await self._call(self._write, name, items, checkpoint)

    async def aclose(self) -> None:
        """Close the database (after any call still running) and the writer thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        closed = executor.submit(self._close)
        executor.shutdown(wait=False)  # the thread ends once the close has run
        await asyncio.wrap_future(closed)

    async def _call(self, function: Callable[[*Ts], R], *args: *Ts) -> R:
        if self._executor is None:
            raise RuntimeError("the SQLiteSink is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # What follows runs on the writer thread.

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the SQLiteSink is not open")
        return self._connection

    def _open(self, base_url: str, client_id: str) -> None:
        self._opened = self._clock()
        self._runs.clear()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            for suffix in _JOURNALS:  # SQLite itself would write through a symlink
                refuse_link(self._path.with_name(self._path.name + suffix), in_place=True)
            self._connect(base_url, client_id)
        except BaseException:
            self._lock.release()
            raise

    def _connect(self, base_url: str, client_id: str) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
            with _transaction(connection):
                self._prepare(connection)
                self._claim(connection, {"base_url": base_url, "client_id": client_id})
            # Only once the file is known to be ours: WAL lets readers query while it runs.
            connection.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            connection.close()
            if exc.sqlite_errorname != "SQLITE_NOTADB":
                raise
            raise ConfigurationError(
                f"{self._path} is not an SQLite database; harvest into another file"
            ) from None
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Create what a new database lacks: the bookkeeping, a table per resource, and in
        an older one the columns of model fields added since."""
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"{self._path} was written by a newer cliquify-async; upgrade to harvest into it"
            )
        if version == 0:
            if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise ConfigurationError(
                    f"{self._path} is a database of something else; harvest into a new file"
                )
            for statement in _CREATE_BOOKKEEPING:
                connection.execute(statement)
        connection.execute(_CREATE_FILES)  # new, or a version 1 database
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        for name, table in TABLES.items():
            present = {row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')}
            if not present:
                connection.execute(table.create)
                continue
            for column in COLUMNS[name]:
                if column.name not in present:
                    connection.execute(f'ALTER TABLE "{name}" ADD COLUMN {_column_sql(column)}')

    def _claim(self, connection: sqlite3.Connection, source: dict[str, str]) -> None:
        found = dict(connection.execute('SELECT "key", "value" FROM "_harvest_source"'))
        if not found:
            connection.executemany('INSERT INTO "_harvest_source" VALUES (?, ?)', source.items())
        else:
            check_source(found, source, str(self._path), "another database")

    def _start(self, name: str) -> Checkpoint:
        row = (
            self._db()
            .execute(
                'SELECT "run_started", "run_finished", "pages", "items", "next_token", '
                '"page_size" '
                'FROM "_harvest_state" WHERE "resource" = ?',
                (name,),
            )
            .fetchone()
        )
        if row is not None and row[1] is None:  # interrupted: the same run goes on
            self._runs[name] = row[0]
            return Checkpoint(items=row[3], pages=row[2], next_token=row[4], page_size=row[5])
        started = self._opened
        if row is not None:  # later than the last run even if the clock went back
            started = max(started, datetime.fromisoformat(row[0]) + timedelta(microseconds=1))
        self._runs[name] = timestamp(started)
        return Checkpoint(page_size=None if row is None else row[5])  # a new run, as large

    def _stored(self, name: str, after: int) -> list[tuple[int, str]]:
        return (
            self._db()
            .execute(TABLES[name].stored, (self._runs[name], after, _STORED_BATCH))
            .fetchall()
        )

    def _write(self, name: str, items: Sequence[Any], checkpoint: Checkpoint) -> Rejected:
        run = self._runs[name]
        columns = COLUMNS[name]
        rows, rejected = [], {}
        for position, item in enumerate(items):
            try:
                if (why := unusable_id(item)) is not None:
                    rejected[position] = why
                    continue
                values = [cell(item.get(column.name), column) for column in columns]
                rows.append((*values, dump_item(item), run, run))
            except (ValueError, RecursionError) as exc:
                rejected[position] = f"that cannot be written as JSON ({exc})"
        connection = self._db()
        with _transaction(connection):
            connection.executemany(TABLES[name].upsert, rows)
            finished = None
            if checkpoint.done:
                connection.execute(TABLES[name].sweep, (run, run))
                finished = timestamp(self._clock())
            connection.execute(
                'INSERT OR REPLACE INTO "_harvest_state" VALUES (?, ?, ?, ?, ?, ?, ?)',
                (
                    name,
                    run,
                    finished,
                    checkpoint.pages,
                    checkpoint.items,
                    checkpoint.next_token,
                    checkpoint.page_size,
                ),
            )
        return rejected

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        self._lock.release()
