"""The read-model tables, one set per generation, and the registry naming the live one.

A rebuild fills a fresh generation (``slaproj_g<N>_*``) beside the live one
and then flips ``slaproj_registry.generation`` in one transaction, so readers
switch atomically and never see a half-built table. Instants are stored as
integer microseconds since the Unix epoch (UTC): exact, identical on SQLite and
PostgreSQL, and cheap to index and compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.schema import CreateTable

PROJECTION = "tickets"
REGISTRY = "slaproj_registry"
_GENERATION_TABLE = re.compile(r"^slaproj_g(\d+)_")
NAME = String(128)
# The rows the partial indexes hold (``_partial``).
CONTRACT_SET = "contract IS NOT NULL"
CUSTOMER_SET = "customer IS NOT NULL"
BREACHED = "breached_at_us IS NOT NULL"
RUNNING = "running_due_us IS NOT NULL"

registry_metadata = MetaData()
registry = Table(
    REGISTRY,
    registry_metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", Integer, nullable=False),
)


@dataclass(frozen=True)
class Tables:
    """The tables of one generation."""

    generation: int
    metadata: MetaData
    tracking: Table
    policies: Table
    calendars: Table
    tickets: Table
    clocks: Table
    compliance: Table
    quarantined: Table
    contracts: Table

    @property
    def data_tables(self) -> tuple[Table, ...]:
        """Every table a rebuild must reproduce row for row, in a stable order."""
        return (
            self.tracking,
            self.policies,
            self.calendars,
            self.tickets,
            self.clocks,
            self.compliance,
            self.quarantined,
            self.contracts,
        )


def _us(name: str, nullable: bool = True) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


def _catalog_table(name: str, key: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column(key, NAME, primary_key=True),
        Column("version", Integer, primary_key=True),
        _us("effective_from_us"),
        _us("recorded_at_us", nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("document", Text, nullable=False),
    )


def _partial(name: str, *columns: str, where: str) -> Index:
    """An index of only the rows ``where`` holds (SQLite and PostgreSQL alike).

    A row the listings can never ask for by this index costs no entry to write,
    move or delete: the live follower writes fewer entries per event, and the
    indexes of a large history hold only what is still live (a met clock is in
    none of the due or breach indexes). Every query these serve names a term that
    implies ``where`` (``x = ?`` and ``x <= ?`` imply ``x IS NOT NULL``; the breach
    listing names ``breached_at_us IS NOT NULL`` itself), which both planners need.
    """
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


def _tickets_table(prefix: str, metadata: MetaData) -> Table:
    return Table(
        f"{prefix}tickets",
        metadata,
        Column("ticket_id", NAME, primary_key=True),
        Column("plan", NAME, nullable=False),
        Column("policy_version", Integer),
        Column("priority", NAME),
        Column("customer", NAME),
        Column("kind", String(32)),
        Column("status", String(32), nullable=False),
        _us("opened_at_us", nullable=False),
        _us("last_event_at_us", nullable=False),
        Column("event_count", Integer, nullable=False),
        Column("last_position", BigInteger, nullable=False),
        # Null while a clock runs or is paused; else the last instant a calendar
        # change could still alter (latest stop or due instant).
        _us("settled_at_us"),
        Column("facts", Text, nullable=False),
        # The contract the ticket is bound to: its suspensions re-evaluate these tickets.
        Column("contract", NAME),
        Index(f"{prefix}tickets_plan", "plan", "ticket_id"),
        _partial(f"{prefix}tickets_contract", "contract", "ticket_id", where=CONTRACT_SET),
        _partial(f"{prefix}tickets_customer", "customer", "ticket_id", where=CUSTOMER_SET),
        Index(f"{prefix}tickets_status", "status", "ticket_id"),
    )


def _clocks_table(prefix: str, metadata: MetaData) -> Table:
    return Table(
        f"{prefix}clocks",
        metadata,
        Column("ticket_id", NAME, primary_key=True),
        Column("metric", NAME, primary_key=True),
        Column("plan", NAME, nullable=False),
        Column("priority", NAME),
        Column("customer", NAME),
        Column("status", String(32), nullable=False),
        _us("opened_at_us", nullable=False),
        Column("calendar", NAME, nullable=False),
        Column("state", String(16), nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("target_seconds", BigInteger, nullable=False),
        Column("elapsed_seconds", BigInteger, nullable=False),
        _us("started_at_us"),
        _us("due_at_us"),
        _us("warn_at_us"),
        _us("breached_at_us"),
        _us("stopped_at_us"),
        _us("evaluated_at_us", nullable=False),
        # due_at while running and not yet breached: breached once it is <= now.
        _us("running_due_us"),
        # When the clock counts as breached: breached_at, else running_due.
        _us("breach_from_us"),
        # Business seconds a suspension held (as of evaluated_at), and whether one ever held it.
        Column("suspended_seconds", BigInteger, nullable=False),
        Column("suspended", Integer, nullable=False),
        # Breaches recorded at an evaluation; a running clock past its due instant is
        # found by clocks_due instead (projections/reads/queries.py merges the two).
        _partial(f"{prefix}clocks_breach", "breach_from_us", "ticket_id", "metric", where=BREACHED),
        _partial(
            f"{prefix}clocks_plan_breach",
            *("plan", "breach_from_us", "ticket_id", "metric"),
            where=BREACHED,
        ),
        _partial(f"{prefix}clocks_due", "running_due_us", "ticket_id", "metric", where=RUNNING),
        Index(f"{prefix}clocks_opened", "opened_at_us"),
        _partial(f"{prefix}clocks_customer", "customer", "opened_at_us", where=CUSTOMER_SET),
    )


def _compliance_table(prefix: str, metadata: MetaData) -> Table:
    return Table(
        f"{prefix}compliance",
        metadata,
        Column("plan", NAME, primary_key=True),
        Column("priority", NAME, primary_key=True),
        Column("metric", NAME, primary_key=True),
        Column("opened_day", Integer, primary_key=True),  # UTC days since the epoch
        Column("met", BigInteger, nullable=False),
        Column("breached", BigInteger, nullable=False),
        Column("pending", BigInteger, nullable=False),
        Column("suspended", BigInteger, nullable=False),
        # For the SLA gauges: clocks of open tickets with a breach instant, and running
        # clocks with a due instant (projections/reads/sla_gauges.py).
        Column("open_breach", BigInteger, nullable=False),
        Column("running", BigInteger, nullable=False),
    )


def _contracts_table(prefix: str, metadata: MetaData) -> Table:
    """The contract events clocks depend on (start, calendar amendments, suspensions)."""
    return Table(
        f"{prefix}contracts",
        metadata,
        Column("contract_id", NAME, primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("type", String(32), nullable=False),
        _us("occurred_at_us", nullable=False),
        Column("event_id", NAME, nullable=False),
        Column("calendar", NAME),
        Column("names_calendar", Integer, nullable=False),
    )


def _quarantined_table(prefix: str, metadata: MetaData) -> Table:
    """Tickets whose evaluation failed: kept out of the other tables, with their facts
    (a later event or version retries them) and the error, for operators."""
    return Table(
        f"{prefix}quarantined",
        metadata,
        Column("ticket_id", NAME, primary_key=True),
        Column("last_position", BigInteger, nullable=False),
        Column("facts", Text, nullable=False),
        Column("error", Text, nullable=False),
    )


@lru_cache(maxsize=16)
def tables_for(generation: int) -> Tables:
    prefix = f"slaproj_g{generation}_"
    metadata = MetaData()
    return Tables(
        generation=generation,
        metadata=metadata,
        tracking=Table(
            f"{prefix}tracking",
            metadata,
            Column("name", String(64), primary_key=True),
            Column("position", BigInteger, nullable=False),
        ),
        policies=_catalog_table(f"{prefix}policies", "plan_id", metadata),
        calendars=_catalog_table(f"{prefix}calendars", "calendar_id", metadata),
        tickets=_tickets_table(prefix, metadata),
        clocks=_clocks_table(prefix, metadata),
        compliance=_compliance_table(prefix, metadata),
        quarantined=_quarantined_table(prefix, metadata),
        contracts=_contracts_table(prefix, metadata),
    )


def existing_generations(conn: Connection) -> set[int]:
    """Every generation that has at least one table in the database."""
    found = set()
    for name in inspect(conn).get_table_names():
        match = _GENERATION_TABLE.match(name)
        if match:
            found.add(int(match.group(1)))
    return found


def create_generation(conn: Connection, generation: int, *, indexes: bool = True) -> Tables:
    """Create a generation's empty tables with its tracking row at position 0.

    ``indexes=False`` is for a bulk load: it leaves out the secondary indexes
    and the keys of the two big tables (tickets, clocks), which ``create_indexes``
    builds once at the end by sorting, far faster than maintaining them row by
    row while keys arrive in random order.
    """
    tables = tables_for(generation)
    if indexes:
        tables.metadata.create_all(conn, checkfirst=True)
    else:
        keyed_later = {tables.tickets.name, tables.clocks.name}
        for table in tables.metadata.sorted_tables:
            created = _keyless(table) if table.name in keyed_later else table
            conn.execute(CreateTable(created, if_not_exists=True))
    if conn.execute(tables.tracking.select()).first() is None:
        conn.execute(tables.tracking.insert().values(name=PROJECTION, position=0))
    return tables


def missing_columns(conn: Connection, tables: Tables) -> list[str]:
    """``table.column`` for each column this code defines that the database's tables lack
    (tables made by an older version: a rebuild makes them anew)."""
    inspector = inspect(conn)
    missing: list[str] = []
    for table in tables.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing.extend(f"{table.name}.{c.name}" for c in table.columns if c.name not in present)
    return missing


def _keyless(table: Table) -> Table:
    columns = [Column(c.name, c.type, nullable=c.nullable) for c in table.columns]
    return Table(table.name, MetaData(), *columns)


def create_indexes(conn: Connection, tables: Tables) -> None:
    """Every key and index a generation lacks (after a bulk load into keyless tables)."""
    for table in (tables.tickets, tables.clocks):
        _add_key(conn, table)
    for table in tables.metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _add_key(conn: Connection, table: Table) -> None:
    """The primary key as the table would have had it; on SQLite, where a key cannot be
    added to a table, the unique index SQLite builds for such a key anyway."""
    if inspect(conn).get_pk_constraint(table.name)["constrained_columns"]:
        return  # created with its key
    columns = ", ".join(c.name for c in table.primary_key.columns)
    name = f"{table.name}_pkey"
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table.name} ({columns})"
        )
    else:
        conn.exec_driver_sql(
            f"ALTER TABLE {table.name} ADD CONSTRAINT {name} PRIMARY KEY ({columns})"
        )


def drop_generation(conn: Connection, generation: int) -> None:
    """Drop every table of a generation, including a rebuild's leftover staging table."""
    tables_for(generation).metadata.drop_all(conn, checkfirst=True)
    prefix = f"slaproj_g{generation}_"
    for name in inspect(conn).get_table_names():
        if name.startswith(prefix):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
