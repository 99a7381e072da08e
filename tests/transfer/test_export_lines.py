"""The CSV lines the database writes (``transfer.selectors.export_lines``): byte for byte what
csv.writer writes from ``export_chunks``'s rows, for every profile, delimiter, header style and
language of names, with cells a spreadsheet would run, quotes, delimiters and line breaks inside
cells, several addresses, lists, deleted and anonymised customers; and the service's CSV, which
goes through them."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.customers.models import Address, Customer, Membership, Tag, Title
from comptoir.customers.services import (
    address_create,
    customer_block,
    customer_delete,
    customer_groups_add,
)
from comptoir.groups.models import Group
from comptoir.transfer.formats.profiles import PROFILES
from comptoir.transfer.selectors import export_lines as export_lines_module
from comptoir.transfer.selectors import exporting as selectors
from comptoir.transfer.selectors.export_lines import csv_cell, export_lines
from comptoir.transfer.selectors.exporting import ExportScope, ExportSpec, Scope, export_chunks
from comptoir.transfer.services.exporting import (
    FileOptions,
    _csv_head,
    csv_body,
    export_file_write,
    export_stdout_write,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
DELIMITERS = (";", ",", "\t")
EVERYONE = ExportScope(kind=Scope.FILTER, query="lifecycle=all")


def spec_for(profile: str, headers: str = "key", scope=EVERYONE, columns=None) -> ExportSpec:
    chosen = columns or tuple(column.key for column in PROFILES[profile].columns)
    return ExportSpec(profile=profile, columns=tuple(chosen), headers=headers, scope=scope)


def written_by_csv(spec: ExportSpec, delimiter: str, **kwargs) -> tuple[str, list[int]]:
    """What csv.writer writes from the rows, and the customers of each chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    customers = []
    for chunk in export_chunks(spec=spec, **kwargs):
        writer.writerows(chunk.rows)
        customers.append(chunk.customers)
    return buffer.getvalue(), customers


def written_by_sql(spec: ExportSpec, delimiter: str, **kwargs) -> tuple[str, list[int]]:
    data, customers = [], []
    for piece in export_lines(spec=spec, delimiter=delimiter, **kwargs):
        data.append(piece.data)
        if piece.customers:  # a chunk's lines may come in pieces, counted with the last
            customers.append(piece.customers)
    return b"".join(data).decode("utf-8"), customers


def assert_same_bytes(spec: ExportSpec, delimiter: str, **kwargs) -> str:
    expected, expected_customers = written_by_csv(spec, delimiter, **kwargs)
    got, customers = written_by_sql(spec, delimiter, **kwargs)
    if got != expected:  # the first line that differs, for a readable failure
        for wanted, found in zip(expected.split("\r\n"), got.split("\r\n"), strict=False):
            assert found == wanted, (spec.profile, spec.headers, delimiter)
    assert got == expected
    assert customers == expected_customers
    return got


@pytest.fixture
def shop(make_customer, actor, default_group, vip_group):
    """Customers with something awkward in every part of the file."""
    evil = Group.objects.create(name_fr="=evil()", name_en="@evil", discount=0)
    signed = Group.objects.create(name_fr="-12", name_en="-12", discount=0)
    pro = Group.objects.create(name_fr='Pro; "B2B"', name_en="Pro,\nnorth", discount=0)
    madame = Title.objects.create(name_fr="Mme", name_en="Ms", gender="female")
    doctor = Title.objects.create(name_fr="=Dr", name_en='Dr; "x"', gender="male")

    helene = make_customer(
        first_name="Hélène",
        last_name="Dupont",
        email="helene@example.com",
        title=madame,
        phone="+33612345678",
        mobile="+33698765432",
        birthday=datetime.date(1985, 7, 14),
        company="Dupont; fils",
        language="fr",
        social_accounts={"instagram": "@helene", "x": 'hélène, "h"'},
        external_id="ps-42",
        tags=["VIP", "Lyon, Rhône", "émile", "Zeta", 'tag "q"'],
        consents={"newsletter": True, "sms": True},
    )
    customer_groups_add(customer=helene, groups=[vip_group, evil], actor=actor)
    address_create(
        customer=helene, actor=actor, alias="Maison", first_name="Hélène", last_name="Dupont",
        address1="3 rue de la Paix", postcode="69001", city="Lyon", country="FR",
        phone="+33478000000",
    )  # fmt: skip
    # A default billing address created after another: it comes first all the same.
    address_create(
        customer=helene, actor=actor, alias="Bureau", first_name="Hélène", last_name="Dupont",
        address1="10 quai Perrache", address2="3e étage", postcode="69002", city="Lyon",
        country="FR", default_billing=True,
    )  # fmt: skip
    address_create(
        customer=helene, actor=actor, alias="Chalet", first_name="H", last_name="D",
        address1="1 chemin", city="Chamonix", country="FR", default_shipping=True,
    )  # fmt: skip
    Customer.objects.filter(pk=helene.pk).update(
        total_spent=Decimal("1234.50"),
        orders_count=3,
        note='Line one\r\nline "two"',
        created_at=datetime.datetime(2024, 3, 1, 13, 5, tzinfo=UTC),
        last_order_at=datetime.datetime(2024, 5, 2, 8, 0, 30, 250000, tzinfo=UTC),
        last_visit_at=datetime.datetime(2024, 5, 3, 9, 0, tzinfo=UTC),
    )

    formulas = make_customer(first_name="Jean", tags=["=tag", "VIP"], title=doctor)
    customer_groups_add(customer=formulas, groups=[pro], actor=actor)
    address_create(
        customer=formulas, actor=actor, first_name="Jean", last_name="Dupont",
        address1="=1+1", city="@city", country="FR",
    )  # fmt: skip
    Customer.objects.filter(pk=formulas.pk).update(
        first_name="\t=1",
        last_name='=HYPERLINK("http://x?"&A1)',
        company="+cmd|' /C calc'!A0",
        note="-2+3",
        external_id="@SUM(A1)",
        website="-12.5",
        siret="+33 6 12",
        vat_number="\r=x",
        default_group=pro,
    )
    Address.objects.filter(customer=formulas).update(
        address2="-12,5", state="+33 6 12", company="'=x", alias="''+1", vat_number="'"
    )
    customer_block(customer=formulas, reason='Chargebacks; "twice"\nagain', actor=actor)

    spaces = make_customer(first_name="Anne", tags=["-5"], consents={"newsletter": True})
    Customer.objects.filter(pk=spaces.pk).update(
        first_name=" lead", last_name="trail ", company="'", note="''", external_id="a\tb"
    )
    Membership.objects.filter(customer=spaces).delete()
    Membership.objects.create(customer=spaces, group=signed)
    address_create(
        customer=spaces, actor=actor, first_name="Anne", last_name="B", address1="Rue, 5",
        address2="Bât. \"B\"", city="Nantes", postcode="44000", country="FR", phone="+33240000000",
    )  # fmt: skip

    several = make_customer(first_name="Zoé", default_group=signed)
    customer_groups_add(customer=several, groups=[vip_group], actor=actor)

    make_customer(is_guest=True, email="", first_name="Guest", consents={"newsletter": True})
    make_customer(first_name="Sms", email="sms@example.com", mobile="+33611111111",
                  consents={"newsletter": True, "sms": True})  # fmt: skip
    gone = make_customer(first_name="Gone", email="gone@example.com")
    customer_delete(customer=gone, mode="deny", actor=actor)
    secret = make_customer(first_name="Secret", email="secret@example.com")
    address_create(
        customer=secret, actor=actor, first_name="S", last_name="T", address1="1 rue",
        city="Paris", country="FR",
    )  # fmt: skip
    customer_delete(customer=secret, mode="anonymise", actor=actor)
    for n in range(6):
        make_customer(first_name=f"Plain{n}", consents={"newsletter": n % 2 == 0})
    return helene


def test_the_fixture_holds_what_the_tests_need(shop):
    """Guards the other tests' meaning: the awkward cells are really there."""
    expected, _customers = written_by_csv(spec_for("comptoir"), ";")
    assert '"Line one\r\nline ""two"""' in expected
    assert "'=HYPERLINK" in expected and "'@SUM(A1)" in expected and ";-12.5;" in expected
    # ''+1 is no formula, but the importer would take apostrophes before a number for a
    # spreadsheet's guard and drop them: escaped once more, as ''=x is.
    assert ";''=x;" in expected and ";'''+1;" in expected
    rows = list(csv.reader(io.StringIO(expected), delimiter=";"))
    # Hélène: the default billing address (the second created) first, then the others.
    mine = [row for row in rows if "helene@example.com" in row]
    assert [row[37] for row in mine] == ["Bureau", "Maison", "Chalet"]
    assert mine[1][3] == "" and mine[1][0] == mine[0][0]  # continuation: id and e-mail only


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_every_profile_and_delimiter_writes_csv_writers_bytes(shop, profile, delimiter):
    for headers in ("key", "en", "fr"):
        assert_same_bytes(spec_for(profile, headers), delimiter)
    for language in ("en", "fr"):
        with translation.override(language):  # names in the user's language under keys
            assert_same_bytes(spec_for(profile, "key"), delimiter)
    # The default scope too (live customers only).
    assert_same_bytes(spec_for(profile, "en", scope=ExportScope()), delimiter)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5])
def test_chunks_and_runs_of_ids_cut_the_same_lines(shop, chunk_size):
    spec = spec_for("comptoir", "fr")
    whole = assert_same_bytes(spec, ";", chunk_size=chunk_size)
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    cut = ids[len(ids) // 2]
    first = assert_same_bytes(spec, ";", chunk_size=chunk_size, upto_id=cut)
    second = assert_same_bytes(spec, ";", chunk_size=chunk_size, after_id=cut)
    assert first + second == whole
    assert_same_bytes(spec_for("shopify"), ",", chunk_size=chunk_size, after_id=ids[1])


@pytest.mark.parametrize(
    "columns",
    [
        ("address_city", "id", "first_name", "address_line1", "email", "groups"),
        ("email", "address_default_billing", "note", "address_country", "id"),
        ("first_name", "tags", "social_accounts"),
        ("note",),
        ("address_line2",),
        ("address_default_shipping",),
    ],
)
@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_columns_in_any_order(shop, columns, delimiter):
    got = assert_same_bytes(spec_for("comptoir", columns=columns), delimiter)
    if len(columns) == 1:
        assert '""\r\n' in got  # csv.writer's one empty cell: a row, not an empty line
    assert_same_bytes(spec_for("shopify", columns=("tags", "default_address_city")), delimiter)
    assert_same_bytes(spec_for("mailchimp", columns=("address", "email_address")), delimiter)


def test_many_groups_and_titles_are_looked_up(shop, make_customer, actor):
    groups = [
        Group.objects.create(name_fr=f"+G{n}", name_en=f"Group {n}", discount=0) for n in range(66)
    ]
    titles = [Title.objects.create(name_fr=f"@T{n}", name_en=f"T{n}") for n in range(66)]
    customer = make_customer(first_name="Many", default_group=groups[-1], title=titles[-1])
    customer_groups_add(customer=customer, groups=groups[:5], actor=actor)
    for delimiter in DELIMITERS:
        for headers in ("fr", "en"):
            assert_same_bytes(spec_for("comptoir", headers), delimiter)
            assert_same_bytes(spec_for("prestashop", headers), delimiter)


def test_tags_keep_the_rows_order_when_their_keys_are_not_their_lower_case(shop, make_customer):
    customer = make_customer(first_name="Tagged", tags=["beta", "Alpha"])
    odd = Tag.objects.create(name="=Gamma", name_key="zzz")  # not its lower case: sorts last
    customer.tags.add(odd)
    Customer.objects.filter(pk=customer.pk).update(tags_text="Alpha, beta, =Gamma")
    got = assert_same_bytes(spec_for("comptoir", columns=("id", "tags")), ";")
    # As the rows sort them: by their lower case, "=gamma" first (then made formula-safe).
    assert f"{customer.pk};'=Gamma | Alpha | beta\r\n" in got


def test_a_chunk_is_one_statement_and_one_more_when_a_cell_needs_quoting(make_customer):
    for n in range(6):
        make_customer(first_name=f"C{n}", tags=["T"])
    spec = spec_for("comptoir", columns=("id", "first_name", "groups", "tags", "note"))

    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            for _piece in export_lines(spec=spec, delimiter=";", chunk_size=2):
                pass
        # Reads only (on PostgreSQL each chunk also sets its JIT off, in a transaction).
        return sum(query["sql"].startswith("SELECT") for query in captured)

    plain = statements()
    # Setup (group names, tags), then one statement a chunk: three chunks of two, and the
    # read that finds no more. (On PostgreSQL, the chunk's count and last id; its COPY is
    # not among the captured queries.)
    assert plain == 2 + 4
    Customer.objects.filter(first_name="C0").update(note="semi;colon")
    if connection.vendor == "postgresql":
        assert statements() == plain  # COPY quotes the cell itself
    else:
        assert statements() == plain + 1  # that customer's chunk only, read again quoted
    assert_same_bytes(spec, ";", chunk_size=2)


def test_lines_in_pieces_and_line_feeds_inside_cells(shop, monkeypatch):
    """PostgreSQL hands a chunk's lines on in pieces (here of a few lines), each line ended
    by "\\r\\n" where COPY wrote "\\n", and only there when a cell holds a line feed."""
    monkeypatch.setattr(export_lines_module, "_PIECE", 300)
    Customer.objects.filter(first_name="Plain0").update(note="one\ntwo\r\nthree\r")
    for delimiter in DELIMITERS:
        got = assert_same_bytes(spec_for("comptoir", "en"), delimiter, chunk_size=3)
        assert '"one\ntwo\r\nthree\r"' in got
        pieces = list(export_lines(spec=spec_for("comptoir"), delimiter=delimiter))
        if connection.vendor == "postgresql":
            assert len(pieces) > 2 and pieces[0].customers == 0
        assert sum(piece.customers for piece in pieces) == Customer.objects.count()


def test_names_written_into_the_statement(shop, make_customer, actor):
    """Group and title names and yes/no words are written into the statement as literals:
    quotes, "%" (the driver's placeholder sign) and an empty title come out as csv.writer
    writes them."""
    odd = Group.objects.create(name_fr="50% l'été", name_en="100%s 'x'", discount=0)
    title = Title.objects.create(name_fr="", name_en="%%", gender="male")
    customer = make_customer(first_name="Odd", default_group=odd, title=title)
    customer_groups_add(customer=customer, groups=[odd], actor=actor)
    lonely = make_customer(first_name="Lonely", default_group=odd)
    Membership.objects.filter(customer=lonely).exclude(group=odd).delete()
    for delimiter in DELIMITERS:
        for headers in ("fr", "en"):
            got = assert_same_bytes(spec_for("comptoir", headers), delimiter)
            assert ("50% l'été" if headers == "fr" else "100%s 'x'") in got
            assert_same_bytes(spec_for("prestashop", headers), delimiter)


def test_one_column_of_copys_end_mark(make_customer):
    """A file of one column: a cell holding only "\\." (COPY quotes it, csv.writer does not)
    and empty cells (csv.writer writes "")."""
    make_customer(first_name="A", email="a@example.com")
    mark = make_customer(first_name="B", email="b@example.com")
    Customer.objects.filter(pk=mark.pk).update(note="\\.", company='"\\."')
    for column in ("note", "company"):
        got = assert_same_bytes(spec_for("comptoir", columns=(column,)), ";")
        assert '""\r\n' in got
    assert "\r\n\\.\r\n" in assert_same_bytes(spec_for("comptoir", columns=("note",)), ";")


def test_the_services_csv_goes_through_the_lines(shop, monkeypatch):
    spec = spec_for("comptoir", "en")
    for delimiter in DELIMITERS:
        options = FileOptions(delimiter=delimiter)
        rows = b"".join(
            piece for piece, _n in csv_body(spec, options, (c for c in export_chunks(spec=spec)))
        )
        counted = [n for _piece, n in csv_body(spec, options, export_chunks(spec=spec))]
        with monkeypatch.context() as patched:
            # The rows are not read at all when the lines are.
            patched.setattr(selectors._Plan, "rows", lambda *args: pytest.fail("rows read"))
            lines = b"".join(
                piece for piece, _n in csv_body(spec, options, export_chunks(spec=spec))
            )
        assert lines == rows
        assert sum(counted) == Customer.objects.count()
    assert csv_cell('a"b', ";") == '"a""b"' and csv_cell("a,b", ";") == "a,b"


def test_a_file_and_the_standard_output_are_written_from_the_lines(
    shop, actor, tmp_path, monkeypatch
):
    spec, options = spec_for("comptoir", "en"), FileOptions()
    expected = _csv_head(spec, options) + b"".join(
        piece for piece, _n in csv_body(spec, options, (c for c in export_chunks(spec=spec)))
    )
    customers = Customer.objects.count()
    # The rows are not read at all: the database writes the lines.
    monkeypatch.setattr(selectors._Plan, "rows", lambda *args: pytest.fail("rows read"))
    path = tmp_path / "out.csv"
    assert export_file_write(spec=spec, options=options, actor=actor, path=path) == customers
    assert path.read_bytes() == expected
    stream = io.BytesIO()
    written = export_stdout_write(spec=spec, options=options, actor=actor, stream=stream)
    assert written == customers and stream.getvalue() == expected


# Any text a database keeps (PostgreSQL keeps no NUL, neither keeps lone surrogates).
CHARACTERS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
TEXT = st.text(alphabet=CHARACTERS, max_size=16)
AWKWARD = st.sampled_from(
    [
        "=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=x", "''+1", "'", "-12.5",
        "+12,5", "+33 6 12", "+33612345678", "-", "+", "1.", ".5", "+1.2.3", "a;b", "a,b",
        'a"b', '"', "a\r\nb", "\n", "\r", "\t", " lead", "trail ", "é", "€", "", "Zoé",
        "'-1", "== ", "+-1",
    ]
)  # fmt: skip
CELL = st.one_of(TEXT, AWKWARD, st.builds(lambda a, b: a + b, AWKWARD, TEXT))


@pytest.fixture
def target(make_customer, actor, vip_group):
    customer = make_customer(
        first_name="Any", email="any@example.com", consents={"newsletter": True, "sms": True},
        mobile="+33600000000", tags=["one", "two"],
    )  # fmt: skip
    customer_groups_add(customer=customer, groups=[vip_group], actor=actor)
    for n in range(2):
        address_create(
            customer=customer, actor=actor, first_name="A", last_name="B", address1=f"{n} rue",
            city="Paris", country="FR", default_shipping=n == 1,
        )  # fmt: skip
    return customer


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    customer_cells=st.lists(CELL, min_size=5, max_size=5),
    address_cells=st.lists(CELL, min_size=4, max_size=4),
    names=st.lists(
        CELL.filter(lambda name: name.strip() and name.lower() not in ("one", "two")),
        min_size=2,
        max_size=2,
    ),
    phone=st.one_of(AWKWARD, st.text(alphabet=CHARACTERS, max_size=8)),
    delimiter=st.sampled_from(DELIMITERS),
)
def test_any_text_is_written_as_csv_writer_writes_it(
    target, vip_group, customer_cells, address_cells, names, phone, delimiter
):
    first_name, last_name, company, note, external_id = customer_cells
    Customer.objects.filter(pk=target.pk).update(
        first_name=first_name, last_name=last_name, company=company, note=note,
        external_id=external_id, phone=phone,
    )  # fmt: skip
    line1, line2, city, state = address_cells
    first = Address.objects.filter(customer=target).order_by("id").first()
    Address.objects.filter(pk=first.pk).update(
        address1=line1, address2=line2, city=city, state=state, phone=phone, company=company
    )
    Group.objects.filter(pk=vip_group.pk).update(name_fr=names[0], name_en=names[1])
    tag = target.tags.order_by("pk").first()  # always the same one: the other keeps its key
    Tag.objects.filter(pk=tag.pk).update(name=names[1], name_key=names[1].lower())
    scope = ExportScope(kind=Scope.SELECTION, query="", ids=(target.pk,))
    for profile in PROFILES:
        assert_same_bytes(spec_for(profile, "fr", scope=scope), delimiter)
