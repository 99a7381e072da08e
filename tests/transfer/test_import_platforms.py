"""One file per platform, written in that platform's shape (its header variants, its quirks, its
encoding), imported end to end; every mapped field of the created customers is checked."""

from __future__ import annotations

import datetime
import io
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import check_password

from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, Title
from comptoir.groups.models import Group
from comptoir.transfer.formats import comptoir
from comptoir.transfer.models import ImportState, PasswordPolicy
from comptoir.transfer.services.importing import import_job_configure
from tests.transfer.importing_helpers import csv_bytes, dry_then_run, upload

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"


def _customer(email: str) -> Customer:
    return Customer.objects.get(email_key=email.lower())


def _groups(customer: Customer) -> set[str]:
    return set(customer.groups.values_list("name_en", flat=True))


def _tags(customer: Customer) -> set[str]:
    return set(customer.tags.values_list("name", flat=True))


# -------------------------------------------------------------------------------------------------
# PrestaShop


def test_prestashop_grid_export_in_french_with_its_quirks(actor, default_group):
    header = ("ID;Titre;Prénom;Nom;Adresse e-mail;Groupe;Société;Ventes;Activé;"
              "Lettre d'informations;Offres partenaires;Inscription;Dernière visite")  # fmt: skip
    lines = [
        header,
        # One more (empty) field than the header, sales with a currency and a decimal comma,
        # a never-visited customer with PrestaShop's zero date.
        "12;Mme;Hélène;Dupont;helene@example.com;Client;Atelier Hélène;1 234,50 €;1;1;0;"
        "2023-04-05 10:11:12;0000-00-00 00:00:00;",
        "13;M.;Jean;Martin;jean@example.com;Grossistes;;;0;0;1;2022-01-02 03:04:05;;",
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    job = upload(data, actor=actor, name="customer_2024-01-01_120000.csv")
    assert (job.platform, job.variant) == ("prestashop", "export (French)")
    assert job.file_info["delimiter"] == ";"
    job = dry_then_run(job, actor=actor)
    assert (job.state, job.created, job.rejected) == (ImportState.DONE, 2, 0)

    helene = _customer("helene@example.com")
    assert helene.external_id == "12"
    assert helene.title == Title.objects.get(name_fr="Mme")
    assert (helene.first_name, helene.last_name) == ("Hélène", "Dupont")
    assert helene.default_group == default_group
    assert helene.company == "Atelier Hélène"
    assert helene.is_enabled and helene.newsletter and not helene.partner_offers
    assert helene.created_at == datetime.datetime(2023, 4, 5, 10, 11, 12, tzinfo=PARIS)
    assert helene.last_visit_at is None and helene.total_spent == Decimal("0")  # figures: orders'
    assert ConsentRecord.objects.get(customer=helene).channel == "newsletter"

    jean = _customer("jean@example.com")
    assert jean.title == Title.objects.get(name_fr="M.")
    assert not jean.is_enabled and not jean.newsletter and jean.partner_offers
    # A group the shop does not have yet is created, and the customer is in it by default.
    wholesalers = Group.objects.get(name_fr="Grossistes")
    assert jean.default_group == wholesalers
    assert _groups(jean) == {"Grossistes"}


def test_prestashop_import_sample_in_iso_8859_1_with_passwords(actor, default_group):
    header = ("Customer ID;Active (0/1);Titles ID (Mr = 1, Ms = 2, else 0);Email *;Password *;"
              "Birthday (yyyy-mm-dd);Last Name *;First Name *;Newsletter (0/1);Opt-in (0/1);"
              "Registration date (yyyy-mm-dd);Groups (x,y,z...);Default group ID")  # fmt: skip
    rows = [
        "1;1;2;zoe@example.com;s3cret-Pass;1985-07-14;Lefèvre;Zoé;1;1;2020-02-03;1,2,3;3",
        "2;0;0;rene@example.com;another-Pass;;Noël;René;0;0;2021-03-04;3;3",
    ]
    data = "\n".join([header, *rows]).encode("iso-8859-1")
    job = upload(data, actor=actor)
    assert job.platform == "prestashop_import"
    assert job.file_info["encoding"] != "utf-8"
    job = import_job_configure(job=job, actor=actor, passwords=PasswordPolicy.HASH)
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.rejected) == (2, 0)

    zoe = _customer("zoe@example.com")
    assert (zoe.external_id, zoe.first_name, zoe.last_name) == ("1", "Zoé", "Lefèvre")
    assert zoe.title.gender == "female"
    assert zoe.birthday == datetime.date(1985, 7, 14)
    assert zoe.is_enabled and zoe.newsletter and zoe.partner_offers
    assert zoe.created_at == datetime.datetime(2020, 2, 3, tzinfo=PARIS)
    # Hashed with Argon2, never stored as written.
    assert zoe.password.startswith("argon2") and check_password("s3cret-Pass", zoe.password)
    assert not zoe.must_reset_password
    # PrestaShop's group ids mean nothing here: the default group.
    assert zoe.default_group == default_group

    rene = _customer("rene@example.com")
    assert (rene.first_name, rene.last_name) == ("René", "Noël")
    assert rene.title is None and not rene.is_enabled and rene.birthday is None


def test_prestashop_passwords_are_dropped_by_default(actor):
    data = csv_bytes(
        ["id", "Active (0/1)", "Gender ID (Mr=1, Ms=2, else 9)", "E-mail*", "Password*",
         "Birthday", "Lastname*", "Firstname*", "Newletter (0/1)", "Opt-in (0/1)"],
        [["7", "1", "1", "paul@example.com", "plain-text", "1990-01-31", "Durand", "Paul", "1",
          "0"]],
        delimiter=";",
    )  # fmt: skip
    job = upload(data, actor=actor)
    assert (job.platform, job.variant) == ("prestashop_import", "import sample (PrestaShop 1.5)")
    dry_then_run(job, actor=actor)
    paul = _customer("paul@example.com")
    assert paul.password == "" and paul.must_reset_password
    assert paul.title.gender == "male" and paul.newsletter
    assert "plain-text" not in str(list(Event.objects.values_list("data", flat=True)))


def test_prestashop_addresses_file_adds_addresses_to_existing_customers(actor, make_customer):
    customer = make_customer(email="ines@example.com", first_name="Inès", last_name="Roux")
    header = ("Address ID;Alias*;Active (0/1);Customer e-mail*;Customer ID;Manufacturer;Supplier;"
              "Company;Lastname*;Firstname*;Address 1*;Address 2;Zipcode*;City*;Country*;State;"
              "Other;Phone;Mobile Phone;VAT number;DNI")  # fmt: skip
    row = ("1;Maison;1;ines@example.com;;;;Roux SARL;Roux;Inès;3 rue Pasteur;Bât. B;69001;Lyon;"
           "France;;;04 65 71 12 34;;FR12345678901;;")  # fmt: skip
    job = upload(f"{header}\n{row}\n".encode(), actor=actor)
    assert job.platform == "prestashop_addresses"
    job = import_job_configure(job=job, actor=actor, mode="update")
    job = dry_then_run(job, actor=actor)
    assert (job.updated, job.rejected) == (1, 0)
    address = Address.objects.get(customer=customer)
    assert (address.alias, address.first_name, address.last_name) == ("Maison", "Inès", "Roux")
    assert (address.address1, address.address2) == ("3 rue Pasteur", "Bât. B")
    assert (address.postcode, address.city, address.country.code) == ("69001", "Lyon", "FR")
    assert address.phone == "+33465711234" and address.vat_number == "FR12345678901"
    assert address.is_default_billing and address.is_default_shipping
    customer.refresh_from_db()
    assert customer.country == "FR" and "lyon" in customer.search_text


# -------------------------------------------------------------------------------------------------
# Shopify

SHOPIFY_EXPORT = [
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
]  # fmt: skip


def test_shopify_current_export_with_apostrophe_ids_tags_and_metafields(actor):
    header = [
        *SHOPIFY_EXPORT,
        "Accepts WhatsApp Marketing",
        "Size (customer.metafields.custom.size)",
    ]
    rows = [
        ["'7210448301122", "Amelia", "Jones", "amelia@example.com", "yes", "Jones & Co",
         "12 High Street", "Flat 3", "London", "ENG", "GB", "SW1A 1AA", "020 7946 0123",
         "+44 113 496 0456", "no", "120.50", "3", "Likes tea", "yes", "VIP, Wholesale", "no", "M"],
        ["'7210448301123", "Noah", "Smith", "", "no", "", "", "", "", "", "", "", "", "", "yes",
         "0.00", "0", "", "no", "", "no", ""],
    ]  # fmt: skip
    job = upload(csv_bytes(header, rows), actor=actor)
    assert (job.platform, job.variant) == ("shopify", "export")
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.rejected) == (1, 1)
    rejection = job.rejections.get(dry_run=False)
    assert (rejection.line, rejection.column) == (3, "Email")

    amelia = _customer("amelia@example.com")
    assert amelia.external_id == "7210448301122"  # the apostrophe is not part of the id
    assert (amelia.first_name, amelia.last_name) == ("Amelia", "Jones")
    assert amelia.newsletter and not amelia.sms and amelia.is_tax_exempt
    assert amelia.phone == "+441134960456" and amelia.note == "Likes tea"
    assert amelia.company == "Jones & Co"  # from the default address
    assert _tags(amelia) == {"VIP", "Wholesale"} and amelia.tags_text == "VIP, Wholesale"
    address = amelia.addresses.get()
    assert (address.company, address.address1, address.address2) == (
        "Jones & Co",
        "12 High Street",
        "Flat 3",
    )
    assert (address.city, address.state, address.country.code) == ("London", "ENG", "GB")
    assert (address.postcode, address.phone) == ("SW1A 1AA", "+442079460123")
    assert amelia.country == "GB" and amelia.total_spent == 0


def test_shopify_import_template(actor):
    header = [h for h in SHOPIFY_EXPORT if h not in ("Customer ID", "Total Spent", "Total Orders")]
    header = [*header[:-3], "Tags", "Note", "Tax Exempt"]
    row = ["Jane", "Doe", "jane.doe@example.com", "no", "", "", "", "", "", "", "", "", "", "yes",
           "Newsletter", "", "no"]  # fmt: skip
    job = upload(csv_bytes(header, [row]), actor=actor)
    assert (job.platform, job.variant) == ("shopify", "import template")
    dry_then_run(job, actor=actor)
    jane = _customer("jane.doe@example.com")
    assert jane.sms and not jane.newsletter and _tags(jane) == {"Newsletter"}


def test_shopify_legacy_export(actor):
    header = ["First Name", "Last Name", "Email", "Company", "Address1", "Address2", "City",
              "Province", "Province Code", "Country", "Country Code", "Zip", "Phone",
              "Accepts Marketing", "Total Spent", "Total Orders", "Tags", "Note",
              "Tax Exempt"]  # fmt: skip
    row = ["John", "Doe", "john.doe@example.com", "", "123 Fake Street", "", "Ottawa", "Ontario",
           "ON", "Canada", "CA", "a1b2c3", "", "no", "100", "1", "", "", "yes"]  # fmt: skip
    job = upload(csv_bytes(header, [row]), actor=actor)
    assert (job.platform, job.variant) == ("shopify", "legacy")
    dry_then_run(job, actor=actor)
    john = _customer("john.doe@example.com")
    address = john.addresses.get()
    assert (address.city, address.state, address.country.code) == ("Ottawa", "Ontario", "CA")
    assert address.postcode == "a1b2c3" and john.is_tax_exempt and not john.newsletter


# -------------------------------------------------------------------------------------------------
# WooCommerce


def test_woocommerce_analytics_report_with_bom_and_name_in_one_cell(actor):
    header = ["Name", "Username", "Last Active", "Sign Up", "Email", "Orders", "Total Spend",
              "AOV", "Country / Region", "City", "Region", "Postal Code", "Billing Phone",
              "Shipping Phone", "Role"]  # fmt: skip
    rows = [["Marie Claire Dubois", "mcd", "2024-01-10 10:00:00", "2023-02-03 04:05:06",
             "mc@example.com", "3", "$1,234.00", "$411.33", "FR", "Nantes", "", "44000",
             "02 61 91 12 34", "", "customer"]]  # fmt: skip
    job = upload(csv_bytes(header, rows, bom=True), actor=actor)
    assert job.platform == "woocommerce_analytics"
    assert job.file_info["encoding"] == "utf-8-sig"
    dry_then_run(job, actor=actor)
    marie = _customer("mc@example.com")
    assert (marie.first_name, marie.last_name) == ("Marie Claire", "Dubois")
    assert marie.created_at == datetime.datetime(2023, 2, 3, 4, 5, 6, tzinfo=PARIS)
    assert marie.phone == "+33261911234"
    # No street in this report: no address, but the country is known.
    assert not marie.addresses.exists() and marie.country == "FR"


def test_woocommerce_plugin_export_with_billing_and_shipping(actor):
    keys = ["first_name", "last_name", "company", "address_1", "address_2", "postcode", "city",
            "state", "country"]  # fmt: skip
    header = ["customer_id", "first_name", "last_name", "email", "date_registered",
              *[f"billing_{k}" for k in keys[:3]], "billing_email", "billing_phone",
              *[f"billing_{k}" for k in keys[3:]], *[f"shipping_{k}" for k in keys]]  # fmt: skip
    billing = ["Lucie", "Morel", "", "5 place Carnot", "", "21000", "Dijon", "", "FR"]
    shipping = ["Lucie", "Morel", "Bureau", "8 rue Voltaire", "", "21000", "Dijon", "", "FR"]
    same = ["Tom", "Petit", "", "1 rue du Port", "", "13002", "Marseille", "", "FR"]
    rows = [
        ["41", "Lucie", "Morel", "lucie@example.com", "2022-05-06T07:08:09", *billing[:3],
         "lucie@example.com", "03 53 01 12 34", *billing[3:], *shipping],
        ["42", "Tom", "Petit", "tom@example.com", "2022-05-06 07:08:09", *same[:3],
         "tom@example.com", "", *same[3:], *same],
    ]  # fmt: skip
    job = upload(csv_bytes(header, rows), actor=actor)
    assert job.platform == "woocommerce"
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.rejected) == (2, 0)
    lucie = _customer("lucie@example.com")
    assert lucie.external_id == "41" and lucie.phone == "+33353011234"
    billing_address = lucie.addresses.get(is_default_billing=True)
    shipping_address = lucie.addresses.get(is_default_shipping=True)
    assert billing_address.address1 == "5 place Carnot" and not billing_address.is_default_shipping
    assert (shipping_address.address1, shipping_address.company) == ("8 rue Voltaire", "Bureau")
    # The same address twice is one address, the default for both.
    tom = _customer("tom@example.com")
    only = tom.addresses.get()
    assert only.is_default_billing and only.is_default_shipping and only.city == "Marseille"


# -------------------------------------------------------------------------------------------------
# Magento

MAGENTO_CUSTOMER = ["email", "_website", "_store", "confirmation", "created_at", "created_in",
                    "disable_auto_group_change", "dob", "firstname", "gender", "group_id",
                    "lastname", "middlename", "password_hash", "prefix", "rp_token",
                    "rp_token_created_at", "store_id", "suffix", "taxvat", "website_id",
                    "password"]  # fmt: skip
MAGENTO_ADDRESS = ["_address_city", "_address_company", "_address_country_id", "_address_fax",
                   "_address_firstname", "_address_lastname", "_address_middlename",
                   "_address_postcode", "_address_prefix", "_address_region",
                   "_address_street", "_address_suffix", "_address_telephone",
                   "_address_vat_id", "_address_default_billing_",
                   "_address_default_shipping_"]  # fmt: skip


def _magento_row(customer: dict, address: dict) -> list[str]:
    return [customer.get(k, "") for k in MAGENTO_CUSTOMER] + [
        address.get(k, "") for k in MAGENTO_ADDRESS
    ]


def test_magento_composite_with_continuation_rows_and_multiline_streets(actor):
    header = MAGENTO_CUSTOMER + MAGENTO_ADDRESS
    anna = {"email": "anna@example.com", "_website": "base", "created_at": "5/6/2012 15:53",
            "dob": "1980-02-29", "firstname": "Anna", "lastname": "Weber", "gender": "Female",
            "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99:salt:1",
            "taxvat": "DE123456789"}  # fmt: skip
    home = {"_address_city": "Strasbourg", "_address_country_id": "FR",
            "_address_firstname": "Anna", "_address_lastname": "Weber",
            "_address_postcode": "67000", "_address_street": "4 quai des Bateliers\nEscalier C",
            "_address_telephone": "03 53 01 56 78", "_address_default_billing_": "1",
            "_address_default_shipping_": "1"}  # fmt: skip
    office = {"_address_city": "Colmar", "_address_country_id": "FR", "_address_firstname": "Anna",
              "_address_lastname": "Weber", "_address_postcode": "68000",
              "_address_street": "1 rue Vauban", "_address_company": "Weber GmbH"}  # fmt: skip
    broken = {"email": "not-an-email", "_website": "base", "firstname": "X", "lastname": "Y"}
    rows = [_magento_row(anna, home), _magento_row({}, office), _magento_row(broken, {})]
    job = upload(csv_bytes(header, rows, line_end="\n"), actor=actor)
    assert job.platform == "magento_composite"
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.rejected) == (1, 1)
    # Line 2 holds a street on two lines, so the continuation row is line 4 and the bad one 5.
    rejection = job.rejections.get(dry_run=False)
    assert (rejection.line, rejection.column) == (5, "email")

    customer = _customer("anna@example.com")
    assert customer.created_at == datetime.datetime(2012, 5, 6, 15, 53, tzinfo=PARIS)  # month first
    assert customer.birthday == datetime.date(1980, 2, 29)
    assert customer.title.gender == "female" and customer.vat_number == "DE123456789"
    assert customer.password == "" and customer.must_reset_password  # Magento hashes: no use
    first, second = customer.addresses.order_by("id")
    assert (first.address1, first.address2, first.city) == (
        "4 quai des Bateliers",
        "Escalier C",
        "Strasbourg",
    )
    assert first.is_default_billing and first.is_default_shipping and first.phone == "+33353015678"
    assert (second.address1, second.city, second.company) == (
        "1 rue Vauban",
        "Colmar",
        "Weber GmbH",
    )
    assert not second.is_default_billing and not second.is_default_shipping


def test_magento_customers_main_file(actor):
    row = {"email": "olaf@example.com", "_website": "base", "firstname": "Olaf", "lastname": "Berg",
           "gender": "Male", "created_at": "2015-10-30 12:49:47", "prefix": ""}  # fmt: skip
    job = upload(
        csv_bytes(MAGENTO_CUSTOMER, [[row.get(k, "") for k in MAGENTO_CUSTOMER]]), actor=actor
    )
    assert job.platform == "magento"
    dry_then_run(job, actor=actor)
    olaf = _customer("olaf@example.com")
    assert olaf.title.gender == "male"
    assert olaf.created_at == datetime.datetime(2015, 10, 30, 12, 49, 47, tzinfo=PARIS)


# -------------------------------------------------------------------------------------------------
# Ecwid, hand-made files


def test_ecwid_historic_import(actor):
    data = (
        b'"name","email","password"\r\n"Chlo\xc3\xa9 Bernard","chloe@example.com","pw-123456"\r\n'
    )
    job = upload(data, actor=actor)
    assert job.platform == "ecwid"
    dry_then_run(job, actor=actor)
    chloe = _customer("chloe@example.com")
    assert (chloe.first_name, chloe.last_name) == ("Chloé", "Bernard")
    assert chloe.must_reset_password and chloe.password == ""


def test_unknown_header_falls_back_to_the_users_mapping(actor):
    data = csv_bytes(["Courriel", "Prénom", "Nom de famille", "Anniversaire", "Étiquettes"],
                     [["lea@example.com", "Léa", "Girard", "14/07/1990", "vip|newsletter"]],
                     delimiter="\t", encoding="cp1252")  # fmt: skip
    job = upload(data, actor=actor)
    assert job.platform == "custom" and job.file_info["delimiter"] == "\t"
    job = import_job_configure(
        job=job, actor=actor, mapping=["email", "first_name", "last_name", "birthday", "tags"]
    )
    dry_then_run(job, actor=actor)
    lea = _customer("lea@example.com")
    assert (lea.first_name, lea.last_name) == ("Léa", "Girard")
    assert lea.birthday == datetime.date(1990, 7, 14) and _tags(lea) == {"vip", "newsletter"}


def test_xlsx_file_is_read_with_sheet_row_numbers(actor):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email", "First name", "Last name", "Birthday", "Phone"])
    sheet.append(["sam@example.com", "Sam", "Roy", datetime.date(1975, 3, 2), 33612345678])
    sheet.append([])
    sheet.append(["bad-email", "Al", "Bo", None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    job = upload(buffer.getvalue(), actor=actor, name="clients.xlsx")
    assert job.file_info["kind"] == "spreadsheet"
    job = import_job_configure(
        job=job, actor=actor, mapping=["email", "first_name", "last_name", "birthday", "phone"]
    )
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.rejected) == (1, 1)
    assert job.rejections.get(dry_run=False).line == 4
    sam = _customer("sam@example.com")
    assert sam.birthday == datetime.date(1975, 3, 2) and sam.phone == "+33612345678"


# -------------------------------------------------------------------------------------------------
# Comptoir's own format


def test_comptoir_own_format_with_french_headers_and_continuation_rows(actor, vip_group):
    header = comptoir.headers("fr")
    first = dict.fromkeys(header, "")
    by_key = dict(zip([c.key for c in comptoir.COLUMNS], header, strict=True))

    def row(**values):
        cells = dict(first)
        for key, value in values.items():
            cells[by_key[key]] = value
        return [cells[h] for h in header]

    rows = [
        row(id="", external_id="ext-1", title="Mme", first_name="Agnès", last_name="Blanc",
            email="agnes@example.com", phone="+33199001234", mobile="+33612345678",
            birthday="1970-01-15", language="en", company="Blanc SA", siret="73282932000074",
            ape_code="4711D", vat_number="FR44732829320", website="https://blanc.example.com",
            social_accounts='{"instagram": "@agnes"}', is_guest="0", is_enabled="1",
            is_tax_exempt="1", tax_exemption_ref="EX-1", is_blocked="1", blocked_reason="Fraude",
            newsletter="1", newsletter_at="2024-03-01T14:05:00+01:00", partner_offers="0",
            sms="1", sms_at="2024-03-02T09:00:00+01:00", groups="Customer | VIP",
            default_group="VIP", tags="'=cmd | Fidèle", note="Appelle le lundi",
            created_at="2019-06-07T08:09:10+02:00", orders_count="4", total_spent="99.90",
            address_alias="Maison", address_first_name="Agnès", address_last_name="Blanc",
            address_line1="2 rue Molière", address_postcode="75001", address_city="Paris",
            address_country="FR", address_phone="+33199001234", address_default_billing="1",
            address_default_shipping="0"),
        row(email="agnes@example.com", address_alias="Bureau", address_first_name="Agnès",
            address_last_name="Blanc", address_line1="9 avenue Foch", address_postcode="69006",
            address_city="Lyon", address_country="FR", address_default_billing="0",
            address_default_shipping="1"),
    ]  # fmt: skip
    job = upload(csv_bytes(header, rows, delimiter=";", bom=True), actor=actor)
    assert (job.platform, job.variant) == ("comptoir", "fr")
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.rejected, job.rows_done) == (1, 0, 1)

    agnes = _customer("agnes@example.com")
    assert agnes.external_id == "ext-1" and agnes.title.name_fr == "Mme"
    assert (agnes.phone, agnes.mobile) == ("+33199001234", "+33612345678")
    assert agnes.birthday == datetime.date(1970, 1, 15) and agnes.language == "en"
    assert (agnes.company, agnes.siret, agnes.ape_code) == ("Blanc SA", "73282932000074", "4711D")
    assert agnes.vat_number == "FR44732829320" and agnes.website == "https://blanc.example.com"
    assert agnes.social_accounts == {"instagram": "@agnes"}
    assert agnes.is_tax_exempt and agnes.tax_exemption_ref == "EX-1"
    assert agnes.is_blocked and agnes.blocked_reason == "Fraude" and agnes.blocked_at
    assert agnes.newsletter and agnes.newsletter_at == datetime.datetime(
        2024, 3, 1, 13, 5, tzinfo=datetime.UTC
    )
    assert not agnes.partner_offers and agnes.sms
    assert agnes.default_group == vip_group and _groups(agnes) == {"Customer", "VIP"}
    assert _tags(agnes) == {"=cmd", "Fidèle"}  # the formula guard is taken off again
    assert agnes.note == "Appelle le lundi"
    assert agnes.created_at == datetime.datetime(2019, 6, 7, 6, 9, 10, tzinfo=datetime.UTC)
    assert agnes.orders_count == 0 and agnes.total_spent == 0  # figures are not imported
    home, office = agnes.addresses.order_by("id")
    assert (home.alias, home.city, home.is_default_billing, home.is_default_shipping) == (
        "Maison", "Paris", True, False)  # fmt: skip
    assert (office.alias, office.city, office.is_default_billing, office.is_default_shipping) == (
        "Bureau", "Lyon", False, True)  # fmt: skip
    assert agnes.country == "FR"
    assert set(ConsentRecord.objects.filter(customer=agnes).values_list("channel", flat=True)) == {
        "newsletter", "sms"}  # fmt: skip
