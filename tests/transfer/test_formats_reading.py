"""Reading files: encodings, delimiters, line numbers of multi-line cells, spreadsheets, junk;
and recognising each platform's header."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.transfer.formats import registry
from comptoir.transfer.formats.base import RowParser
from comptoir.transfer.formats.reading import (
    FileFormatError,
    delimiter_detect,
    encoding_detect,
    file_inspect,
    rows_read,
)


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The readers' messages are checked in English (the shop's default language is French)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _file(tmp_path, data: bytes, name: str = "f.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Prénom;Nom\nHélène;Dupont\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "Prénom;Nom\nHélène;Dupont\n".encode(), "utf-8-sig"),
        ("Prénom;Nom\nHélène;Dupont\nFrançois;Noël\n".encode("cp1252"), None),
    ],
)
def test_encodings(tmp_path, data, encoding):
    info = file_inspect(_file(tmp_path, data))
    if encoding:
        assert info.encoding == encoding
    assert info.header == ["Prénom", "Nom"]
    assert info.samples[0] == ["Hélène", "Dupont"]


def test_windows_1252_is_the_fallback_for_text_that_is_not_utf8():
    assert encoding_detect("Société Générale; café".encode("cp1252")) in {
        "cp1252",
        "latin_1",
        "iso8859_15",
    }


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a;b;c\n1;2;3\n4;5;6\n", ";"),
        ("a,b,c\n1,2,3\n", ","),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ('name,note\n"Dupont; Jean","a;b;c"\n', ","),
        ("email\nx@example.com\n", ","),
    ],
)
def test_delimiters(text, delimiter):
    assert delimiter_detect(text) == delimiter


def test_line_numbers_count_the_lines_of_multi_line_cells(tmp_path):
    data = b'email,street\r\na@x.com,"1 rue\r\nB\xc3\xa2t. 2\r\n3e"\r\n\r\nb@x.com,two\r\n'
    path = _file(tmp_path, data)
    info = file_inspect(path)
    rows = list(rows_read(path, info))
    assert [(row.line, row.cells) for row in rows] == [
        (2, ["a@x.com", "1 rue\r\nBât. 2\r\n3e"]),
        (6, ["b@x.com", "two"]),
    ]


def test_blank_lines_above_the_header_are_skipped(tmp_path):
    path = _file(tmp_path, b"\n\nemail;name\nx@y.fr;X\n")
    info = file_inspect(path)
    assert (info.header, info.header_line) == (["email", "name"], 3)
    assert [row.line for row in rows_read(path, info)] == [4]


def test_a_spreadsheet_is_read_with_its_row_numbers(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B3"], sheet["C3"] = "Email", "Total"
    sheet["B4"], sheet["C4"] = "a@example.com", 12.5
    sheet["B7"], sheet["C7"] = "b@example.com", 3
    buffer = io.BytesIO()
    book.save(buffer)
    path = _file(tmp_path, buffer.getvalue(), "c.xlsx")
    info = file_inspect(path)
    assert (info.kind, info.header, info.header_line) == ("spreadsheet", ["Email", "Total"], 3)
    assert [(row.line, row.cells) for row in rows_read(path, info)] == [
        (4, ["a@example.com", "12.5"]),
        (7, ["b@example.com", "3"]),
    ]


@pytest.mark.parametrize(
    "data", [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300), b"PK\x03\x04junk"]
)
def test_files_that_are_not_tables_are_refused_with_a_message(tmp_path, data):
    with pytest.raises(FileFormatError) as raised:
        file_inspect(_file(tmp_path, data))
    assert str(raised.value)


def test_an_extra_empty_trailing_field_is_tolerated_and_other_extra_fields_are_not():
    parser = RowParser(headers=["email", "first_name"], mapping=["email", "first_name"])
    assert parser.parse(2, ["a@x.com", "Ann", ""]).errors == []
    record = parser.parse(3, ["a@x.com", "Ann", "surprise"])
    assert record.errors == [("", "This line has 3 fields; the header has 2.")]
    assert parser.parse(4, ["a@x.com"]).values == {"email": "a@x.com", "first_name": None}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=3000))
def test_no_bytes_make_the_reader_crash(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("junk") / "junk.csv"
    path.write_bytes(data)
    try:
        info = file_inspect(path)
    except FileFormatError:
        return
    for row in rows_read(path, info):
        assert row.line >= 1 and isinstance(row.cells, list)


TEXT = st.characters(exclude_categories=["Cs", "Cc"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.lists(st.text(alphabet=TEXT | st.sampled_from("\r\n\t"), max_size=30),
                 min_size=1, max_size=5),
        min_size=1, max_size=15,
    ),
    delimiter=st.sampled_from([";", ",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)  # fmt: skip
def test_any_csv_written_by_a_csv_writer_reads_back_with_its_line_numbers(
    tmp_path_factory, rows, delimiter, encoding
):
    import csv

    header = [f"col{i}" for i in range(5)]
    buffer = io.StringIO()
    # "\r\n" ends rows, so a writer quotes cells holding either character.
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    info = file_inspect(path)
    assert info.header == header
    expected, line = [], 2
    for cells in rows:
        if any(cell.strip() for cell in cells):
            expected.append((line, cells))
        written = io.StringIO()
        csv.writer(written, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
        line += (
            written.getvalue().count("\n")
            + written.getvalue().count("\r")
            - (written.getvalue().count("\r\n"))
        )
    got = [(row.line, row.cells) for row in rows_read(path, info)]
    assert got == expected


# -------------------------------------------------------------------------------------------------
# Recognising platforms


@pytest.mark.parametrize(
    ("header", "platform"),
    [
        ("ID;Social title;First name;Last name;Email address;Group;Company;Sales;Enabled;"
         "Newsletter;Partner offers;Registration;Last visit", "prestashop"),
        ("id;titre;prénom;nom;adresse e-mail;groupe;société;ventes;activé;"
         "lettre d'informations;offres partenaires;inscription;dernière visite", "prestashop"),
        ("Customer ID;Active (0/1);Titles ID (Mr = 1, Ms = 2, else 0);Email *;Password *;"
         "Birthday (yyyy-mm-dd);Last Name *;First Name *;Newsletter (0/1);Opt-in (0/1);"
         "Registration date (yyyy-mm-dd);Groups (x,y,z...);Default group ID", "prestashop_import"),
        ("Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
         "Default Address Address1,Default Address Address2,Default Address City,"
         "Default Address Province Code,Default Address Country Code,Default Address Zip,"
         "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
         "Tax Exempt,Tags", "shopify"),
        ("Name,Username,Last Active,Sign Up,Email,Orders,Total Spend,AOV,Country / Region,City,"
         "Region,Postal Code", "woocommerce_analytics"),
        ("_website,_email,_entity_id,city,company,country_id,fax,firstname,lastname,middlename,"
         "postcode,prefix,region,region_id,street,suffix,telephone,vat_id,vat_is_valid,"
         "vat_request_date,vat_request_id,vat_request_success,_address_default_billing_,"
         "_address_default_shipping_", "magento_addresses"),
        ('"name","email","password"', "ecwid"),
        ("id;external_id;first_name;last_name;email;is_enabled;newsletter_at", "comptoir"),
        ("Foo;Bar", "custom"),
    ],
)  # fmt: skip
def test_platforms_are_recognised_from_their_header_in_any_case(header, platform):
    delimiter = ";" if ";" in header else ","
    headers = [cell.strip('"') for cell in header.split(delimiter)]
    detection = registry.detect(headers)
    assert (detection.format.key if detection.format else "custom") == platform
    if detection.format:
        assert all(detection.format.target_for(header) is not None for header in headers), (
            "every column of a platform's own file is known"
        )


def test_a_record_pickles_to_an_equal_record_with_its_last_line():
    """Records cross from the reading process to the writing one pickled (``__reduce__``)."""
    import pickle

    from comptoir.transfer.formats.base import Record

    record = Record(7, {"email": "a@b.fr", "id": None}, [{"city": "Lyon"}], [("Phone", "bad")], 9)
    again = pickle.loads(pickle.dumps(record))
    assert again == record
    assert (again.line, again.last_line, again.values["email"]) == (7, 9, "a@b.fr")
    assert pickle.loads(pickle.dumps(Record(3, {}, [], []))).last_line == 3
