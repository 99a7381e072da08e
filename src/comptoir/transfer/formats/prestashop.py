"""PrestaShop: the customers grid export (labels in the back-office's language, French or
English), the import sample files (customers, old and new, and addresses).

The grid's "ID" is PrestaShop's id, kept as the external id; its "Group" is the default group's
name. Group ids of the import sample are PrestaShop's, meaningless here: not imported.
Sales and last visit are figures the orders will give again: not imported.
"""

from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats.base import Format

EXPORT = Format(
    key="prestashop",
    label=_("PrestaShop (customers export)"),
    columns={
        # English labels
        "ID": "external_id",
        "Social title": "title",
        "First name": "first_name",
        "Last name": "last_name",
        "Email address": "email",
        "Email": "email",
        "Group": "default_group",
        "Company": "company",
        "Sales": "",
        "Enabled": "is_enabled",
        "Newsletter": "newsletter",
        "Partner offers": "partner_offers",
        "Opt-in": "partner_offers",
        "Registration": "created_at",
        "Last visit": "",
        "Connection": "",
        # French labels
        "Titre": "title",
        "Civilité": "title",
        "Prénom": "first_name",
        "Nom": "last_name",
        "Adresse e-mail": "email",
        "E-mail": "email",
        "Groupe": "default_group",
        "Société": "company",
        "Ventes": "",
        "Activé": "is_enabled",
        "Lettre d'informations": "newsletter",
        "Offres partenaires": "partner_offers",
        "Inscription": "created_at",
        "Dernière visite": "",
    },
    signatures={
        "export (English)": ["ID", "First name", "Last name", "Email address", "Enabled"],
        "export (French)": ["ID", "Prénom", "Nom", "Adresse e-mail", "Activé"],
        "export (PrestaShop 1.6)": ["ID", "First name", "Last name", "Email", "Enabled"],
    },
)

IMPORT = Format(
    key="prestashop_import",
    label=_("PrestaShop (customers import file)"),
    columns={
        "Customer ID": "external_id",
        "ID": "external_id",
        "Active (0/1)": "is_enabled",
        "Titles ID (Mr = 1, Ms = 2, else 0)": "gender",
        "Gender ID (Mr=1, Ms=2, else 9)": "gender",
        "Email *": "email",
        "E-mail*": "email",
        "Password *": "password",
        "Password*": "password",
        "Birthday (yyyy-mm-dd)": "birthday",
        "Birthday": "birthday",
        "Last Name *": "last_name",
        "Lastname*": "last_name",
        "First Name *": "first_name",
        "Firstname*": "first_name",
        "Newsletter (0/1)": "newsletter",
        "Newletter (0/1)": "newsletter",  # sic, PrestaShop 1.5
        "Opt-in (0/1)": "partner_offers",
        "Registration date (yyyy-mm-dd)": "created_at",
        "Groups (x,y,z...)": "",
        "Default group ID": "",
        "Shop ID": "",
    },
    signatures={
        "import sample": ["Customer ID", "Email *", "Last Name *", "First Name *"],
        "import sample (PrestaShop 1.5)": ["id", "E-mail*", "Lastname*", "Firstname*"],
    },
)

ADDRESSES = Format(
    key="prestashop_addresses",
    label=_("PrestaShop (addresses import file)"),
    columns={
        "Address ID": "",
        "Alias*": "address.alias",
        "Active (0/1)": "",
        "Customer e-mail*": "email",
        "Customer ID": "external_id",
        "Manufacturer": "",
        "Supplier": "",
        "Company": "address.company",
        "Lastname*": "address.last_name",
        "Firstname*": "address.first_name",
        "Address 1*": "address.address1",
        "Address 2": "address.address2",
        "Zipcode*": "address.postcode",
        "City*": "address.city",
        "Country*": "address.country",
        "State": "address.state",
        "Other": "",
        "Phone": "address.phone",
        "Mobile Phone": "address.phone",
        "VAT number": "address.vat_number",
        "DNI": "",
    },
    signatures={"addresses import sample": ["Alias*", "Customer e-mail*", "Address 1*", "City*"]},
    continuation_rows=True,
)

FORMATS = (EXPORT, IMPORT, ADDRESSES)
