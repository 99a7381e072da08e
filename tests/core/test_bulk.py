"""The bulk write path, on whichever database the suite runs on (SQLite, or PostgreSQL when
DATABASE_URL points at one): rows written through it read back through the ORM as Django
itself would have stored them."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import example, given
from hypothesis import strategies as st

from comptoir.core.bulk import (
    LOAD_CHECKPOINT_PAGES,
    bulk_insert,
    bulk_load_mode,
    commits_unsynced,
    datetime_text,
    epoch_formatter,
    foreign_keys_deferred,
    foreign_keys_drop,
    indexes_create,
    indexes_deferred,
    indexes_drop,
    insert_triggers_deferred,
    next_id,
    sequence_reset,
    tables_analyze,
    tables_lock,
)
from comptoir.customers.models import Address, Customer, Tag
from comptoir.groups.models import Group, PriceDisplay

pytestmark = pytest.mark.django_db

GROUP_COLUMNS = (
    "id", "name_fr", "name_en", "description", "discount", "price_display", "show_prices",
    "css_class", "is_default", "created_at", "updated_at",
)  # fmt: skip


def _indexes(table: str) -> set[str]:
    """The table's indexes, but the primary key's."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name for name, info in constraints.items() if info["index"] and not info["primary_key"]}


def test_rows_read_back_through_the_orm_as_django_stores_them():
    at = datetime.datetime(2024, 2, 29, 23, 59, 58, tzinfo=datetime.UTC)
    first = next_id(Group)
    written = bulk_insert(
        Group._meta.db_table,
        GROUP_COLUMNS,
        [
            (first, "Grossistes", "Wholesalers", "", "12.50", "tax_excl", False, "", False,
             datetime_text(at), datetime_text(at)),
            (first + 1, "Écoles", "Schools", "Établissements", "0.00", "tax_incl", True, "x",
             False, epoch_formatter()(int(at.timestamp())), datetime_text(at)),
        ],
    )  # fmt: skip

    assert written == 2
    wholesale = Group.objects.get(pk=first)
    assert (wholesale.name_fr, wholesale.name_en) == ("Grossistes", "Wholesalers")
    assert wholesale.discount == Decimal("12.50")
    assert wholesale.show_prices is False
    assert wholesale.is_default is False
    assert wholesale.created_at == at
    assert wholesale.created_at.utcoffset() == datetime.timedelta(0)
    schools = Group.objects.get(pk=first + 1)
    assert schools.name_fr == "Écoles"
    assert schools.description == "Établissements"
    assert schools.discount == Decimal("0.00")
    assert schools.show_prices is True
    assert schools.created_at == at
    # The ORM filters and sorts them like rows it wrote itself.
    assert list(Group.objects.filter(created_at=at).order_by("id")) == [wholesale, schools]
    assert not Group.objects.filter(created_at__gt=at, pk__gte=first).exists()
    assert Group.objects.filter(discount__gt=Decimal("12.49"), pk=first).exists()


def test_columns_the_same_in_every_row_store_what_bound_values_would():
    """SQLite writes a column holding one ``None``, boolean or integer in every row of a batch
    as a literal, and booleans as integers (``_sqlite_values``): what reads back is the same,
    on either database, for constant and varying columns alike."""
    at = datetime_text(datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC))
    first = next_id(Group)
    note = "l'été « 100 % » ?"  # a quote, a percent sign and a question mark, as text
    display = PriceDisplay.TAX_EXCLUDED  # a choice's enum: its value is stored, not its name
    rows = [
        (first + n, f"G{n}", f"G{n}", note, "0.00", display, n % 2 == 0, "", False, at, at)
        for n in range(3)
    ]
    bulk_insert(Group._meta.db_table, GROUP_COLUMNS, rows)
    bulk_insert(Group._meta.db_table, GROUP_COLUMNS, [(first + 3, *rows[0][1:])])  # one row

    stored = Group.objects.filter(pk__gte=first).order_by("pk")
    assert [(g.show_prices, g.is_default, g.name_fr) for g in stored] == [
        (True, False, "G0"), (False, False, "G1"), (True, False, "G2"), (True, False, "G0"),
    ]  # fmt: skip
    assert {(g.description, g.price_display, g.css_class) for g in stored} == {
        (note, "tax_excl", "")
    }
    assert Group.objects.filter(pk__gte=first, show_prices=True).count() == 3
    assert Group.objects.filter(pk__gte=first, is_default=False).count() == 4


def test_sqlite_statement_takes_constant_columns_as_literals():
    from comptoir.core.bulk import _sqlite_values

    values, rows = _sqlite_values([(1, None, True, "a", 0), (2, None, False, "b", 0)], 5)
    assert values == "(?, NULL, ?, ?, 0)"
    assert rows == [(1, 1, "a"), (2, 0, "b")]
    # The same text in every row: a literal, quotes doubled; too long, or holding NUL: bound.
    long, nul = "x" * 201, "a\x00b"
    batch = [(1, "", "l'été", long, nul), (2, "", "l'été", long, nul)]
    values, rows = _sqlite_values(batch, 5)
    assert values == "(?, '', 'l''été', ?, ?)"
    assert rows == [(1, long, nul), (2, long, nul)]
    values, rows = _sqlite_values([(None, True), (None, True)], 2)
    assert (values, rows) == ("(NULL, 1)", [(), ()])
    values, rows = _sqlite_values([(1, None), (1, 3)], 2)  # None then a value: bound
    assert (values, rows) == ("(1, ?)", [(None,), (3,)])
    assert _sqlite_values([(True, None)], 2) == ("(?, ?)", [(True, None)])
    # Equal but not alike: 1 and True, 0 and 0.0 stay bound as they are.
    values, rows = _sqlite_values([(1, 0), (True, 0.0)], 2)
    assert (values, rows) == ("(?, ?)", [(1, 0), (True, 0.0)])
    values, rows = _sqlite_values([(2**63, "x"), (2**63, "y")], 2)  # past SQLite's integers
    assert values == "(?, ?)"


def test_epoch_formatter_matches_datetime_text():
    stamp = epoch_formatter()
    for seconds in (0, 951_782_400, 1_709_251_199, 1_767_225_600 - 1):
        value = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
        assert stamp(seconds) == datetime_text(value)


def test_datetime_text_converts_to_utc():
    paris = datetime.timezone(datetime.timedelta(hours=2))
    value = datetime.datetime(2025, 6, 1, 12, 30, tzinfo=paris)
    expected = "2025-06-01 10:30:00" + ("" if connection.vendor == "sqlite" else "+00:00")
    assert datetime_text(value) == expected


def test_generator_rows_are_written_in_batches():
    rows = ((f"Tag {n}", f"tag {n}") for n in range(2_500))

    assert bulk_insert(Tag._meta.db_table, ("name", "name_key"), rows, batch_size=1_000) == 2_500
    assert Tag.objects.filter(name_key__startswith="tag ").count() == 2_500
    assert Tag.objects.get(name_key="tag 2499").name == "Tag 2499"


def test_a_bad_row_leaves_nothing_behind():
    Tag.objects.create(name="VIP", name_key="vip")
    rows = [("Fidèle", "fidele"), ("VIP again", "vip")]

    with pytest.raises(IntegrityError):
        bulk_insert(Tag._meta.db_table, ("name", "name_key"), rows)

    assert not Tag.objects.filter(name_key="fidele").exists()
    assert Tag.objects.count() == 1


def test_next_id_never_reuses_the_id_of_a_deleted_row():
    kept = Tag.objects.create(name="a", name_key="a")
    deleted = Tag.objects.create(name="b", name_key="b")
    deleted_id = deleted.pk
    deleted.delete()

    assert next_id(Tag) == deleted_id + 1
    assert next_id(Tag) > kept.pk


def test_sequence_reset_moves_new_ids_past_explicit_ones():
    first = next_id(Tag)
    bulk_insert(Tag._meta.db_table, ("id", "name", "name_key"), [(first + 5, "x", "x")])

    sequence_reset(Tag)

    created = Tag.objects.create(name="y", name_key="y")
    assert created.pk == first + 6
    assert next_id(Tag) == first + 7


def test_tables_lock_runs_inside_a_transaction():
    tables_lock(Tag, Group)  # a no-op on SQLite, a LOCK TABLE on PostgreSQL

    assert Tag.objects.create(name="z", name_key="z").pk


def test_bulk_load_mode_changes_settings_for_the_load_only():
    def setting() -> str:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA cache_size")
            else:
                cursor.execute("SHOW synchronous_commit")
            return str(cursor.fetchone()[0])

    def checkpoint_pages() -> int | None:
        if connection.vendor != "sqlite":
            return None
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    before, pages_before = setting(), checkpoint_pages()
    with bulk_load_mode(cache_mb=64):
        inside, pages_inside = setting(), checkpoint_pages()
    assert inside == ("-65536" if connection.vendor == "sqlite" else "off")
    assert setting() == before
    if connection.vendor == "sqlite":
        assert (pages_before, pages_inside) == (1000, LOAD_CHECKPOINT_PAGES)
        assert checkpoint_pages() == 1000


def test_commits_go_unsynced_for_the_duration_only_on_postgresql():
    def synchronous() -> str:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA synchronous")
            else:
                cursor.execute("SHOW synchronous_commit")
            return str(cursor.fetchone()[0])

    before = synchronous()
    with commits_unsynced():
        inside = synchronous()
    assert synchronous() == before
    # SQLite keeps its own setting (NORMAL: no wait for the disk at a commit in WAL mode).
    assert (before, inside) == (("1", "1") if connection.vendor == "sqlite" else ("on", "off"))


def test_indexes_are_dropped_for_the_load_and_built_again():
    table = Customer._meta.db_table
    before = _indexes(table)
    assert "customer_email_unique_registered" in before
    assert len(before) > 5

    with indexes_deferred(Customer):
        assert _indexes(table) == set()

    assert _indexes(table) == before


def test_a_unique_index_that_no_longer_holds_fails_the_load_and_comes_back(default_group):
    table = Customer._meta.db_table
    before = _indexes(table)
    columns = ("id", "first_name", "last_name", "email", "email_key", "default_group_id")
    start = next_id(Customer)
    twins = [
        (start, "Ann", "Twin", "ann@example.com", "ann@example.com", default_group.pk),
        (start + 1, "Ann", "Twin", "ANN@example.com", "ann@example.com", default_group.pk),
    ]

    with pytest.raises(IntegrityError), indexes_deferred(Customer):
        _customers_insert(columns, twins)

    assert _indexes(table) == before
    assert not Customer.objects.filter(email_key="ann@example.com").exists()


def _customers_insert(columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Customers with only some columns: the others get the values Django would give."""
    defaults = {
        "phone": "", "phone_input": "", "mobile": "", "mobile_input": "", "language": "fr",
        "company": "", "siret": "", "ape_code": "", "vat_number": "", "website": "",
        "social_accounts": "{}", "external_id": "", "is_guest": False, "is_enabled": True,
        "is_blocked": False, "blocked_reason": "", "is_tax_exempt": False,
        "tax_exemption_ref": "", "is_demo": False, "password": "",
        "must_reset_password": False, "newsletter": False, "partner_offers": False,
        "sms": False, "note": "", "orders_count": 0, "invalid_orders_count": 0,
        "total_spent": "0.00", "created_at": "2024-01-01 00:00:00+00:00",
        "updated_at": "2024-01-01 00:00:00+00:00", "version": 1, "search_text": "",
    }  # fmt: skip
    if connection.vendor == "sqlite":
        defaults["created_at"] = defaults["updated_at"] = "2024-01-01 00:00:00"
    extra = tuple(defaults)
    bulk_insert(
        Customer._meta.db_table,
        columns + extra,
        [row + tuple(defaults.values()) for row in rows],
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="foreign keys are PostgreSQL's")
def test_foreign_keys_are_checked_when_put_back():
    columns = (
        "customer_id", "alias", "first_name", "last_name", "company", "vat_number", "address1",
        "address2", "postcode", "city", "state", "country", "phone", "is_default_shipping",
        "is_default_billing", "created_at", "updated_at",
    )  # fmt: skip
    orphan = (next_id(Customer) + 1000, "", "A", "B", "", "", "1 rue X", "", "75001", "Paris",
              "", "FR", "", False, False, "2024-01-01 00:00:00+00:00",
              "2024-01-01 00:00:00+00:00")  # fmt: skip

    with pytest.raises(IntegrityError), foreign_keys_deferred(Address):
        bulk_insert(Address._meta.db_table, columns, [orphan])

    assert not Address.objects.exists()


ADDRESS_COLUMNS = (
    "customer_id", "alias", "first_name", "last_name", "company", "vat_number", "address1",
    "address2", "postcode", "city", "state", "country", "phone", "is_default_shipping",
    "is_default_billing", "created_at", "updated_at",
)  # fmt: skip


def _address(customer_id: int) -> tuple:
    return (customer_id, "", "A", "B", "", "", "1 rue X", "", "75001", "Paris", "", "FR", "",
            False, False, "2024-01-01 00:00:00+00:00", "2024-01-01 00:00:00+00:00")  # fmt: skip


def _foreign_keys(table: str) -> dict[str, bool]:
    """Name -> validated, of the table's foreign keys (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s) AND contype = 'f'",
            [table],
        )
        return dict(cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="foreign keys are PostgreSQL's")
def test_foreign_keys_dropped_for_a_load_of_many_transactions_come_back_checked(default_group):
    table = Address._meta.db_table
    before = _foreign_keys(table)
    customer = Customer.objects.create(
        email="a@example.com", email_key="a@example.com", default_group=default_group
    )

    statements = foreign_keys_drop(Address)
    assert _foreign_keys(table) == {}
    bulk_insert(table, ADDRESS_COLUMNS, [_address(customer.pk)])
    indexes_create(statements)
    indexes_create(statements)  # a second attempt changes nothing

    assert _foreign_keys(table) == before and all(before.values())
    assert Address.objects.get().customer_id == customer.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="foreign keys are PostgreSQL's")
def test_a_foreign_key_whose_rows_point_nowhere_comes_back_unvalidated_but_enforced(caplog):
    table = Address._meta.db_table
    statements = foreign_keys_drop(Address)
    bulk_insert(table, ADDRESS_COLUMNS, [_address(next_id(Customer) + 1000)])

    indexes_create(statements)

    keys = _foreign_keys(table)
    assert keys and not any(keys.values())
    assert "Left unvalidated" in caplog.text
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(table, ADDRESS_COLUMNS, [_address(next_id(Customer) + 2000)])
        connection.check_constraints()  # what the commit would do: the key is checked
    assert Address.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need committed tables")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_indexes_and_keys_are_built_by_several_workers_outside_a_transaction():
    indexes, keys = _indexes(Customer._meta.db_table), _foreign_keys(Address._meta.db_table)
    statements = [*indexes_drop(Customer), *foreign_keys_drop(Address)]
    assert _indexes(Customer._meta.db_table) < indexes and not _foreign_keys(Address._meta.db_table)

    indexes_create(statements, workers=2)

    assert _indexes(Customer._meta.db_table) == indexes
    assert _foreign_keys(Address._meta.db_table) == keys and all(keys.values())


def test_indexes_drop_keeps_what_the_load_looks_up_by_but_not_its_pattern_indexes():
    table = Customer._meta.db_table
    before = _indexes(table)
    statements = indexes_drop(Customer, keep_columns=("email_key",))
    kept = _indexes(table)
    indexes_create(statements)

    assert _indexes(table) == before
    assert any(name.startswith("customers_customer_email_key") for name in kept)
    assert not any(name.endswith("_like") for name in kept)
    assert "customer_sort_last_name" not in kept
    if connection.vendor == "postgresql":  # an index over an expression goes too
        assert "customer_search_marks" in before and "customer_search_marks" not in kept


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite row triggers")
def test_copying_triggers_run_once_over_the_new_rows():
    def triggers() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            return [row[0] for row in cursor.fetchall()]

    def logged(table: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT tag_id, name FROM {table} ORDER BY tag_id")
            return cursor.fetchall()

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE tag_copy (tag_id integer, name text)")
        cursor.execute("CREATE TABLE tag_vip (tag_id integer, name text)")
        cursor.execute(
            "CREATE TRIGGER tag_copy_ai AFTER INSERT ON customers_tag BEGIN "
            "INSERT INTO tag_copy(tag_id, name) VALUES (new.id, upper(new.name)); END"
        )
        # Not a plain copy (a WHEN clause): left in place, fires row by row.
        cursor.execute(
            "CREATE TRIGGER tag_vip_ai AFTER INSERT ON customers_tag WHEN new.name_key = 'vip' "
            "BEGIN INSERT INTO tag_vip(tag_id, name) VALUES (new.id, new.name); END"
        )
    before = triggers()
    old = Tag.objects.create(name="old", name_key="old")
    first = next_id(Tag)

    with insert_triggers_deferred(Tag, first_pk=first):
        assert len(triggers()) == len(before) - 1
        bulk_insert(
            Tag._meta.db_table,
            ("id", "name", "name_key"),
            [(first, "Loyal", "loyal"), (first + 1, "VIP", "vip")],
        )
        assert logged("tag_vip") == [(first + 1, "VIP")]

    assert triggers() == before
    assert logged("tag_copy") == [(old.pk, "OLD"), (first, "LOYAL"), (first + 1, "VIP")]
    later = Tag.objects.create(name="later", name_key="later")
    assert logged("tag_copy")[-1] == (later.pk, "LATER")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics")
def test_tables_analyze_gives_the_planner_the_new_row_counts():
    bulk_insert(Tag._meta.db_table, ("name", "name_key"), ((f"t{n}", f"t{n}") for n in range(300)))

    tables_analyze(Tag)

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass('customers_tag')")
        assert cursor.fetchone()[0] == 300


_VALUES = st.sampled_from(
    [None, True, False, 0, 1, -7, 2**63, 1.0, 0.0, "", "a", "l'été", "a\x00b", "x" * 201]
)


# Equal values of other types (1, True and 1.0), and text no statement may hold.
@example([(1,), (1.0,)])
@example([(0, True), (False, True)])
@example([("a\x00b",), ("a\x00b",)])
@given(st.integers(1, 4).flatmap(lambda width: st.lists(
    st.tuples(*[_VALUES] * width), min_size=1, max_size=5)))  # fmt: skip
def test_sqlite_literals_store_what_binding_every_value_would(batch):
    """Whatever mix of values a batch holds, the statement ``_sqlite_values`` writes stores
    the same values, of the same SQLite types, as binding each value of each row (booleans
    being integers either way)."""
    import sqlite3

    from comptoir.core.bulk import _sqlite_values

    width = len(batch[0])
    database = sqlite3.connect(":memory:")
    columns = ", ".join(f"c{n}" for n in range(width))
    database.execute(f"CREATE TABLE t (n INTEGER PRIMARY KEY, {columns})")
    database.execute(f"CREATE TABLE u (n INTEGER PRIMARY KEY, {columns})")
    values, rows = _sqlite_values(batch, width)
    try:
        database.executemany(f"INSERT INTO t ({columns}) VALUES {values}", rows)
    except OverflowError:  # 2**63 bound: refused either way
        with pytest.raises(OverflowError):
            database.executemany(f"INSERT INTO u ({columns}) VALUES ({', '.join('?' * width)})",
                                 batch)  # fmt: skip
        return
    database.executemany(f"INSERT INTO u ({columns}) VALUES ({', '.join('?' * width)})", batch)
    read = ", ".join(f"typeof(c{n}), c{n}" for n in range(width))
    assert (database.execute(f"SELECT {read} FROM t ORDER BY n").fetchall()
            == database.execute(f"SELECT {read} FROM u ORDER BY n").fetchall())  # fmt: skip
