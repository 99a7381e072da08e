"""Demo data: what a fresh install shows, and as many realistic customers as a benchmark needs.

``demo_basics_install`` makes the default group, two groups with discounts and the demo customer
John Doe (storefront password, address, paid order, carts, a visit), through the services, so
every change has its event.

``demo_customers_generate`` adds generated customers k = 1..N (external id ``demo-<k>``) with
their addresses, consents and consent history, groups, tags, orders and lines, carts, visits and
one "customer_created" event each, through the bulk path (``core.bulk``), not the services: the
services write one customer in several queries, this writes a million in about two minutes.
The stored figures on each customer are computed from the rows generated with it, so they agree
with its orders and visits exactly as if the order and visit services had moved them.

The k-th customer depends only on k (a seeded random stream per block of customers, using only
``Random.random``, whose sequence Python keeps stable across versions), so a rerun with the same
N adds nothing and a larger N adds only the missing customers.

Everything is fictitious by construction: e-mails on the reserved example.com/.org/.net domains,
phone numbers from ranges kept for fiction (ARCEP, Ofcom, NANP 555-01xx), IP addresses from the
documentation ranges (RFC 5737, RFC 3849).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import marshal
import math
import multiprocessing
import os
import secrets
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal
from queue import Full
from random import Random

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.bulk import (
    bulk_insert,
    bulk_load_mode,
    epoch_formatter,
    foreign_keys_deferred,
    indexes_deferred,
    insert_triggers_deferred,
    next_id,
    sequence_reset,
    tables_analyze,
    tables_lock,
)
from comptoir.core.models import Event, Source
from comptoir.core.normalise import email_key
from comptoir.core.text import fold, fold_cached
from comptoir.customers.models import (
    Address,
    ConsentRecord,
    Customer,
    Gender,
    Membership,
    OptInLevel,
    Title,
)
from comptoir.customers.services import address_create, customer_create, tags_get_or_create
from comptoir.groups.models import Group
from comptoir.groups.services import group_create, group_default_set
from comptoir.orders.models import Cart, CartStatus, Order, OrderLine, OrderStatus, Visit
from comptoir.orders.services import LineInput, order_record, visit_record

DEMO_EMAIL = "john.doe@example.com"
EXTERNAL_ID_PREFIX = "demo-"

# (name_fr, name_en, discount %, description). The default group comes from a migration.
DEMO_GROUPS = (
    ("Professionnels", "Professionals", 10, "Clients professionnels / Business customers"),
    ("VIP", "VIP", 5, "Meilleurs clients / Best customers"),
)
DEFAULT_GROUP = ("Client", "Customer", "Groupe par défaut des clients / Default customer group")

# ---------------------------------------------------------------------------------------------
# The basics


@dataclass
class DemoBasics:
    """What ``demo_basics_install`` did. ``password`` is set only when John Doe was created."""

    created: list[str] = field(default_factory=list)
    password: str | None = None


@transaction.atomic
def demo_basics_install(*, actor: Actor | None = None) -> DemoBasics:
    """Make sure the default group, the demo groups and John Doe exist. Idempotent."""
    actor = actor or Actor.demo()
    result = DemoBasics()
    if not Group.objects.filter(is_default=True).exists():
        name_fr, name_en, description = DEFAULT_GROUP
        group = group_create(actor=actor, name_fr=name_fr, name_en=name_en, description=description)
        group_default_set(group=group, actor=actor)
        result.created.append(f"default group {name_en}")
    for name_fr, name_en, discount, description in DEMO_GROUPS:
        if not Group.objects.filter(name_fr=name_fr).exists():
            group_create(
                actor=actor,
                name_fr=name_fr,
                name_en=name_en,
                discount=discount,
                description=description,
            )
            result.created.append(f"group {name_en} ({discount} %)")
    if not Customer.objects.filter(email_key=email_key(DEMO_EMAIL), is_guest=False).exists():
        # Random, shown once by the caller: a fixed default password would be a known way into
        # every shop that forgot to delete its demo customer.
        result.password = secrets.token_urlsafe(12)
        _john_doe_create(actor=actor, password=result.password)
        result.created.append(f"demo customer John Doe <{DEMO_EMAIL}>")
    return result


def _john_doe_create(*, actor: Actor, password: str) -> Customer:
    john = customer_create(
        actor=actor,
        first_name="John",
        last_name="Doe",
        email=DEMO_EMAIL,
        password=password,
        is_demo=True,
        title=Title.objects.filter(gender=Gender.MALE).first(),
        language="fr",
        phone="01 99 00 12 34",
        phone_region="FR",
        birthday=datetime.date(1970, 1, 15),
        consents={"newsletter": True},
        opt_in_level=OptInLevel.CONFIRMED,
        note="Client de démonstration : à supprimer avant l'ouverture de la boutique.",
    )
    address_create(
        customer=john,
        actor=actor,
        alias="Domicile",
        first_name="John",
        last_name="Doe",
        address1="16 rue du Sentier",
        address2="2e étage",
        postcode="75002",
        city="Paris",
        country="FR",
        phone="01 99 00 12 34",
    )
    now = timezone.now()
    cart = Cart.objects.create(
        customer=john,
        items_count=3,
        total=Decimal("50.70"),
        created_at=now - datetime.timedelta(minutes=12),
        updated_at=now - datetime.timedelta(minutes=12),
    )
    order_record(
        actor=actor,
        email=DEMO_EMAIL,
        first_name="John",
        last_name="Doe",
        customer=john,
        cart=cart,
        status=OrderStatus.PAID,
        payment_method="Carte bancaire",
        lines=[
            LineInput("T-shirt imprimé colibri", 1, Decimal("24.90"), "TSH-COLIBRI"),
            LineInput("Mug « Bonjour »", 2, Decimal("12.90"), "MUG-BONJOUR"),
        ],
    )
    Cart.objects.create(
        customer=john,
        status=CartStatus.ABANDONED,
        items_count=1,
        total=Decimal("15.90"),
        created_at=now - datetime.timedelta(days=3),
        updated_at=now - datetime.timedelta(days=3),
    )
    visit_record(customer=john, ip_address="192.0.2.1", referrer="https://duckduckgo.com/")
    return john


# ---------------------------------------------------------------------------------------------
# Pools for the generated customers. Kept here rather than taken from Faker so the k-th
# customer stays the same when Faker's lists change. Roughly in order of frequency: picks are
# skewed towards the front.

FR_FEMALE = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Sophie", "Camille", "Julie",
    "Christine", "Sandrine", "Céline", "Valérie", "Stéphanie", "Laura", "Léa", "Manon", "Chloé",
    "Emma", "Sarah", "Pauline", "Anaïs", "Aurélie", "Émilie", "Caroline", "Virginie", "Florence",
    "Véronique", "Martine", "Françoise", "Monique", "Hélène", "Brigitte", "Nicole", "Dominique",
    "Agnès", "Béatrice", "Claire", "Inès", "Lucie", "Mathilde", "Clara", "Élise", "Juliette",
    "Margaux", "Océane", "Zoé", "Louise", "Jade", "Alice", "Lina", "Rose", "Anna", "Ambre",
    "Maëlle", "Noémie", "Justine", "Charlotte", "Audrey", "Mélanie", "Laetitia", "Coralie",
    "Gaëlle", "Solène", "Maëva", "Léonie", "Capucine", "Bérénice", "Margot", "Adèle",
    "Constance", "Eugénie", "Joséphine", "Annick", "Geneviève", "Josiane", "Odile",
    "Marie-Claire", "Anne-Sophie", "Marie-Hélène", "Anne-Laure",
)  # fmt: skip
FR_MALE = (
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Christophe", "Patrick",
    "Laurent", "Stéphane", "Frédéric", "David", "Éric", "Julien", "Sébastien", "Thomas",
    "Olivier", "Guillaume", "Vincent", "Antoine", "Maxime", "Alexandre", "Romain", "Nathan",
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Léo", "Raphaël", "Adam", "Paul",
    "Mathis", "Théo", "Enzo", "Baptiste", "Clément", "Quentin", "Benoît", "Jérôme", "François",
    "Thierry", "Bruno", "Didier", "Gilles", "Hervé", "Pascal", "Yves", "Bernard", "André",
    "Daniel", "Claude", "Marc", "Jacques", "Gérard", "René", "Denis", "Cédric", "Florian",
    "Damien", "Fabrice", "Mathieu", "Rémi", "Loïc", "Gaël", "Yannick", "Joël", "Noël",
    "Aurélien", "Timothée", "Côme", "Anatole", "Jean-Pierre", "Jean-Luc", "Jean-Marc",
    "Pierre-Yves", "Jean-Baptiste", "Marc-Antoine",
)  # fmt: skip
FR_LAST = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
    "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
    "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin",
    "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas",
    "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc",
    "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy", "Guillot",
    "Hubert", "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin", "Louis", "Deschamps",
    "Huet", "Vasseur", "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet", "Adam",
    "Paris", "Poirier", "Marty", "Aubry", "Guyot", "Carré", "Charles", "Renault", "Charpentier",
    "Ménard", "Maillard", "Baron", "Bertin", "Bailly", "Hervé", "Schneider", "Fernandez",
    "Le Gall", "Collet", "Léger", "Bouvier", "Julien", "Prévost", "Millet", "Perrot", "Daniel",
    "Le Roux", "Cousin", "Germain", "Breton", "Besson", "Langlois", "Rémy", "Le Goff",
    "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré", "Lebrun", "Marchal", "Weber",
    "Mallet", "Hamon", "Boulanger", "Jacob", "Monnier", "Michaud", "Rodriguez", "Guichard",
    "Gillet", "Étienne", "Grondin", "Poulain", "Tessier", "Chevallier", "Collin", "Chauvin",
    "Da Silva", "Bouchet", "Gay", "Lemaître", "Bénard", "Maréchal", "Humbert", "Reynaud",
    "Antoine", "Hoarau", "Perret", "Barthélemy", "Cordier", "Pichon", "Lejeune", "Gilbert",
    "Lamy", "Delaunay", "Pasquier", "Carlier", "Laporte", "Lecœur", "N'Diaye", "De Oliveira",
    "Saint-Martin", "d'Almeida", "Nguyen", "Benali", "Haddad", "Kowalski",
)  # fmt: skip
EN_FEMALE = (
    "Sarah", "Emma", "Claire", "Laura", "Rebecca", "Helen", "Susan", "Karen", "Elizabeth",
    "Jennifer", "Nicola", "Joanne", "Victoria", "Katherine", "Amy", "Olivia", "Amelia", "Isla",
    "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella", "Lily", "Evie", "Isabella",
    "Charlotte", "Jessica", "Sophie", "Alice", "Freya", "Ruby", "Florence", "Chloe", "Hannah",
    "Lucy", "Rachel", "Linda", "Margaret", "Zoe", "Megan", "Holly", "Abigail", "Eleanor",
    "Harriet", "Imogen", "Niamh", "Siobhan", "Aisling", "Caitlin", "Bethan", "Rhiannon", "Fiona",
    "Morag", "Eilidh", "Anna", "Julia", "Natalie", "Louise", "Kirsty", "Gemma", "Jade",
    "Danielle", "Stacey", "Leanne", "Michelle", "Deborah", "Patricia", "Janet", "Gillian",
    "Alison", "Jacqueline", "Maureen", "Dorothy", "Siân", "Ffion", "Mary-Jane", "Anne-Marie",
)  # fmt: skip
EN_MALE = (
    "David", "Paul", "Mark", "Andrew", "Richard", "Christopher", "Stephen", "Michael", "John",
    "James", "Robert", "Peter", "Thomas", "Oliver", "George", "Harry", "Noah", "Jack", "Leo",
    "Arthur", "Muhammad", "Oscar", "Charlie", "Jacob", "Henry", "William", "Alfie", "Joshua",
    "Freddie", "Archie", "Ethan", "Isaac", "Alexander", "Joseph", "Edward", "Samuel", "Max",
    "Daniel", "Benjamin", "Lucas", "Simon", "Ian", "Gary", "Neil", "Martin", "Stuart", "Craig",
    "Scott", "Darren", "Lee", "Jason", "Matthew", "Adam", "Luke", "Ryan", "Liam", "Connor",
    "Callum", "Kieran", "Rhys", "Dylan", "Owen", "Gareth", "Dafydd", "Hamish", "Angus", "Euan",
    "Fraser", "Ewan", "Declan", "Ciarán", "Seán", "Rory", "Graham", "Nigel", "Trevor", "Keith",
    "Colin", "Malcolm", "Derek",
)  # fmt: skip
EN_LAST = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain",
    "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
    "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews",
    "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day",
    "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson",
    "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells",
    "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster",
    "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley", "Dunn", "Woods", "Parsons",
    "Berry", "Stone", "Reid", "Holland", "Hawkins", "Harding", "Porter", "Robertson", "Newton",
    "Reed", "Kennedy", "Williamson", "Bird", "Gardner", "Shah", "Dean", "Lane", "Cooke",
    "Bates", "Henderson", "Parry", "Burgess", "Bishop", "Walton", "Burns", "Nicholson",
    "Shepherd", "Ross", "Cross", "Long", "Freeman", "Warren", "Nicholls", "Hamilton", "Byrne",
    "Sutton", "McDonald", "Yates", "Hodgson", "Robson", "Curtis", "Hopkins", "O'Connor",
    "Harper", "Coleman", "Watkins", "Moss", "McCarthy", "Chambers", "O'Neill", "Griffin",
    "Sharp", "Hardy", "Wheeler", "Potter", "Osborne", "Johnston", "Gordon", "Doyle", "Wallace",
    "Jordan", "Hutchinson", "Rowe", "Burke", "Pritchard", "Willis", "Higgins", "Read", "Miles",
    "Stevenson", "Hammond", "Arnold", "Buckley", "Walters", "Hewitt", "Barber", "Nelson",
    "Slater", "Austin", "Sullivan", "Whitehead", "Mann", "Frost", "Blake", "Lynch", "Goodwin",
    "Barton", "Woodward", "Thomson", "Cunningham", "Quinn", "Barnett", "Baxter", "Clayton",
    "Nash", "Greenwood", "Jennings", "Holt", "Kemp", "Poole", "Gallagher", "Bond", "Stokes",
    "Tucker", "Davidson", "Fowler", "Heath", "Norman", "Middleton", "Lawson", "Banks",
    "Stanley", "Jarvis", "Ferguson", "Hayward", "Douglas", "Todd", "Peters", "Knowles",
    "Hartley", "Morrison", "Townsend", "Preston", "Thornton", "Baldwin", "Smith-Jones",
)  # fmt: skip

FR_STREET_KINDS = ("rue", "rue", "rue", "avenue", "boulevard", "place", "impasse", "chemin",
                   "allée", "quai", "route")  # fmt: skip
FR_STREET_NAMES = (
    "de la République", "Victor Hugo", "Jean Jaurès", "du Général de Gaulle", "Pasteur",
    "de la Gare", "des Écoles", "du Moulin", "de l'Église", "Voltaire", "Gambetta",
    "Jules Ferry", "de la Paix", "des Lilas", "du Château", "de Verdun", "Émile Zola", "Carnot",
    "de la Liberté", "des Tilleuls", "Saint-Michel", "du Port", "Molière", "Lafayette",
    "Aristide Briand", "Anatole France", "Marcel Pagnol", "des Acacias", "du Stade",
    "des Vignes", "de Bretagne", "Nationale", "du 8 Mai 1945", "Paul Bert", "de la Mairie",
    "des Peupliers", "Jean Moulin", "Sainte-Catherine", "de la Fontaine", "des Cerisiers",
)  # fmt: skip
FR_ADDRESS2 = ("Bâtiment B", "Appartement 12", "3e étage", "Résidence Les Pins",
               "Escalier C", "Chez Mme Martin", "Porte 4", "BP 12")  # fmt: skip
EN_STREET_NAMES = (
    "High", "Station", "Church", "Park", "Victoria", "Green", "Manor", "Mill", "Queens",
    "Kings", "London", "Albert", "York", "Grange", "Windsor", "Springfield", "Main", "North",
    "South", "West", "Chestnut", "Oak", "Maple", "Cedar", "Elm", "Highfield", "Riverside",
    "Orchard", "Meadow", "St John's", "Castle", "School", "Broad", "New", "Market",
)  # fmt: skip
EN_STREET_KINDS = ("Street", "Road", "Road", "Lane", "Avenue", "Close", "Drive", "Crescent",
                   "Gardens", "Way", "Place", "Terrace", "Grove")  # fmt: skip
EN_ADDRESS2 = ("Flat 3", "Apartment 4B", "Suite 200", "Unit 7", "Floor 2", "c/o Reception")

# Phones: (national digits without the leading 0, as typed nationally, as typed with +).
# Ranges reserved for fiction, which libphonenumber still accepts as valid numbers.
FR_PHONE_BLOCKS = {
    1: ("19900", "01 99 00 ", "+33 1 99 00 "),
    2: ("26191", "02 61 91 ", "+33 2 61 91 "),
    3: ("35301", "03 53 01 ", "+33 3 53 01 "),
    4: ("46571", "04 65 71 ", "+33 4 65 71 "),
    5: ("53649", "05 36 49 ", "+33 5 36 49 "),
}
GB_PHONE_BLOCKS = {
    "020": ("2079460", "020 7946 0", "+44 20 7946 0"),
    "0113": ("1134960", "0113 496 0", "+44 113 496 0"),
    "0114": ("1144960", "0114 496 0", "+44 114 496 0"),
    "0116": ("1164960", "0116 496 0", "+44 116 496 0"),
    "0117": ("1174960", "0117 496 0", "+44 117 496 0"),
    "0118": ("1184960", "0118 496 0", "+44 118 496 0"),
    "0121": ("1214960", "0121 496 0", "+44 121 496 0"),
    "0131": ("1314960", "0131 496 0", "+44 131 496 0"),
    "0141": ("1414960", "0141 496 0", "+44 141 496 0"),
    "0161": ("1614960", "0161 496 0", "+44 161 496 0"),
    "0151": ("1514960", "0151 496 0", "+44 151 496 0"),
    "0191": ("1914980", "0191 498 0", "+44 191 498 0"),
    "029": ("2920180", "029 2018 0", "+44 29 2018 0"),
    "028": ("2896496", "028 9649 6", "+44 28 9649 6"),
}

# Cities: (name, postcodes or postcode stems, state, phone block, weight). How a stem becomes a
# postcode depends on the country (see _postcode).
CITIES = {
    "FR": (
        ("Paris", tuple(f"750{n:02d}" for n in range(1, 21)), "", 1, 30),
        ("Marseille", tuple(f"130{n:02d}" for n in range(1, 17)), "", 4, 9),
        ("Lyon", tuple(f"6900{n}" for n in range(1, 10)), "", 4, 8),
        ("Toulouse", ("31000", "31100", "31200", "31300", "31400", "31500"), "", 5, 6),
        ("Nice", ("06000", "06100", "06200", "06300"), "", 4, 5),
        ("Nantes", ("44000", "44100", "44200", "44300"), "", 2, 5),
        ("Strasbourg", ("67000", "67100", "67200"), "", 3, 4),
        ("Montpellier", ("34000", "34070", "34080", "34090"), "", 4, 4),
        ("Bordeaux", ("33000", "33100", "33200", "33300", "33800"), "", 5, 4),
        ("Lille", ("59000", "59160", "59260", "59800"), "", 3, 4),
        ("Rennes", ("35000", "35200", "35700"), "", 2, 3),
        ("Reims", ("51100",), "", 3, 2),
        ("Saint-Étienne", ("42000", "42100"), "", 4, 2),
        ("Toulon", ("83000", "83100", "83200"), "", 4, 2),
        ("Le Havre", ("76600", "76610", "76620"), "", 2, 2),
        ("Grenoble", ("38000", "38100"), "", 4, 2),
        ("Dijon", ("21000",), "", 3, 2),
        ("Angers", ("49000", "49100"), "", 2, 2),
        ("Nîmes", ("30000", "30900"), "", 4, 2),
        ("Villeurbanne", ("69100",), "", 4, 2),
        ("Clermont-Ferrand", ("63000", "63100"), "", 4, 2),
        ("Aix-en-Provence", ("13090", "13100"), "", 4, 2),
        ("Brest", ("29200",), "", 2, 1),
        ("Tours", ("37000", "37100", "37200"), "", 2, 1),
        ("Amiens", ("80000", "80080", "80090"), "", 3, 1),
        ("Limoges", ("87000", "87100", "87280"), "", 5, 1),
        ("Annecy", ("74000", "74370", "74940"), "", 4, 1),
        ("Perpignan", ("66000", "66100"), "", 4, 1),
        ("Metz", ("57000", "57050", "57070"), "", 3, 1),
        ("Besançon", ("25000",), "", 3, 1),
        ("Orléans", ("45000", "45100"), "", 2, 1),
        ("Rouen", ("76000", "76100"), "", 2, 1),
        ("Caen", ("14000",), "", 2, 1),
        ("Nancy", ("54000", "54100"), "", 3, 1),
        ("Avignon", ("84000",), "", 4, 1),
        ("La Rochelle", ("17000",), "", 5, 1),
        ("Pau", ("64000",), "", 5, 1),
        ("Bayonne", ("64100",), "", 5, 1),
        ("Quimper", ("29000",), "", 2, 1),
        ("Colmar", ("68000",), "", 3, 1),
        ("Saint-Malo", ("35400",), "", 2, 1),
        ("Ajaccio", ("20000", "20090"), "", 4, 1),
        ("Chambéry", ("73000",), "", 4, 1),
        ("Poitiers", ("86000",), "", 5, 1),
        ("Vannes", ("56000",), "", 2, 1),
        ("Boulogne-Billancourt", ("92100",), "", 1, 2),
        ("Versailles", ("78000",), "", 1, 1),
        ("Montreuil", ("93100",), "", 1, 1),
        ("Neuilly-sur-Seine", ("92200",), "", 1, 1),
        ("Saint-Denis", ("93200",), "", 1, 1),
    ),
    "BE": (
        ("Bruxelles", ("1000", "1020", "1030", "1040"), "", 0, 8),
        ("Ixelles", ("1050",), "", 0, 3),
        ("Uccle", ("1180",), "", 0, 2),
        ("Liège", ("4000", "4020"), "", 0, 4),
        ("Namur", ("5000",), "", 0, 2),
        ("Charleroi", ("6000",), "", 0, 3),
        ("Mons", ("7000",), "", 0, 2),
        ("Louvain-la-Neuve", ("1348",), "", 0, 1),
        ("Wavre", ("1300",), "", 0, 1),
        ("Tournai", ("7500",), "", 0, 1),
    ),
    "CH": (
        ("Genève", tuple(f"120{n}" for n in range(1, 10)), "GE", 0, 8),
        ("Lausanne", ("1003", "1004", "1005", "1006", "1007", "1010", "1018"), "VD", 0, 6),
        ("Fribourg", ("1700",), "FR", 0, 2),
        ("Neuchâtel", ("2000",), "NE", 0, 2),
        ("Sion", ("1950",), "VS", 0, 1),
        ("Montreux", ("1820",), "VD", 0, 1),
        ("Nyon", ("1260",), "VD", 0, 1),
        ("Zürich", ("8001", "8003", "8004", "8005"), "ZH", 0, 2),
    ),
    "GB": (
        (
            "London",
            ("SW1A", "SE1", "N1", "E1", "W1D", "NW3", "EC1A", "WC2N", "SW6", "E14"),
            "",
            "020",
            30,
        ),
        ("Manchester", ("M1", "M4", "M14", "M20"), "", "0161", 6),
        ("Birmingham", ("B1", "B5", "B15"), "", "0121", 6),
        ("Leeds", ("LS1", "LS6"), "", "0113", 4),
        ("Glasgow", ("G1", "G12"), "", "0141", 4),
        ("Edinburgh", ("EH1", "EH3", "EH8"), "", "0131", 4),
        ("Sheffield", ("S1", "S10"), "", "0114", 3),
        ("Bristol", ("BS1", "BS8"), "", "0117", 3),
        ("Leicester", ("LE1", "LE2"), "", "0116", 2),
        ("Reading", ("RG1", "RG4"), "", "0118", 2),
        ("Newcastle upon Tyne", ("NE1", "NE6"), "", "0191", 2),
        ("Belfast", ("BT1", "BT9"), "", "028", 2),
        ("Liverpool", ("L1", "L8"), "", "0151", 3),
        ("Cardiff", ("CF10", "CF24"), "", "029", 2),
        ("Brighton", ("BN1", "BN2"), "", "020", 2),
        ("Oxford", ("OX1", "OX4"), "", "020", 1),
        ("Cambridge", ("CB1", "CB2"), "", "020", 1),
        ("York", ("YO1",), "", "0113", 1),
        ("Bath", ("BA1",), "", "0117", 1),
        ("Norwich", ("NR1", "NR2"), "", "020", 1),
    ),
    "US": (
        ("New York", ("100", "101", "112"), "NY", "212", 8),
        ("Boston", ("021",), "MA", "617", 3),
        ("San Francisco", ("941",), "CA", "415", 3),
        ("Chicago", ("606",), "IL", "312", 4),
        ("Seattle", ("981",), "WA", "206", 2),
        ("Austin", ("787",), "TX", "512", 2),
        ("Miami", ("331",), "FL", "305", 2),
        ("Los Angeles", ("900",), "CA", "213", 5),
        ("New Orleans", ("701",), "LA", "504", 1),
        ("Portland", ("972",), "OR", "503", 1),
    ),
    "CA": (
        ("Montréal", ("H2X", "H2J", "H3A", "H2T", "H4A"), "QC", "514", 10),
        ("Québec", ("G1R", "G1K"), "QC", "418", 4),
        ("Laval", ("H7N",), "QC", "450", 2),
        ("Gatineau", ("J8X",), "QC", "819", 1),
        ("Sherbrooke", ("J1H",), "QC", "819", 1),
        ("Toronto", ("M5V", "M4Y", "M6G"), "ON", "416", 6),
        ("Ottawa", ("K1P", "K2P"), "ON", "613", 2),
        ("Vancouver", ("V6B", "V5K"), "BC", "604", 3),
        ("Calgary", ("T2P",), "AB", "403", 1),
    ),
}

# (reference, name, unit price in cents)
PRODUCTS = (
    ("TSH-COLIBRI", "T-shirt imprimé colibri", 2490),
    ("MUG-BONJOUR", "Mug « Bonjour »", 1290),
    ("TOTE-LIN", "Tote bag en lin", 1590),
    ("CARTES-LOT", "Lot de 10 cartes postales", 890),
    ("TSH-RENARD", "T-shirt renard", 2490),
    ("CARNET-POINT", "Carnet de notes pointillé", 1190),
    ("BOUGIE-SOJA", "Bougie parfumée cire de soja", 1890),
    ("SAVON-ALEP", "Savon d'Alep", 690),
    ("AFF-A3-PHARE", "Affiche A3 phare breton", 1990),
    ("GOURDE-500", "Gourde inox 500 ml", 2290),
    ("CHAUSS-LAINE", "Chaussettes en laine", 1390),
    ("SWEAT-MONT", "Sweat montagne", 4990),
    ("THE-JARDIN", "Thé vert jardin japonais 100 g", 990),
    ("CAFE-ETHIO", "Café moulu Éthiopie 250 g", 1090),
    ("BONNET-MER", "Bonnet mérinos", 2990),
    ("COUSSIN-PL", "Coussin plaid", 3490),
    ("TABLIER-ENF", "Tablier enfant", 1690),
    ("PUZZLE-1000", "Puzzle 1000 pièces", 2590),
    ("LIVRE-SAISON", "Livre de recettes de saison", 2490),
    ("BANANE-REC", "Sac banane recyclé", 3290),
    ("PLANTE-SUC", "Plante succulente en pot", 1490),
    ("KIT-BRODERIE", "Kit de broderie", 2790),
    ("VASE-GRES", "Vase en grès", 3990),
    ("LAMPE-CERAM", "Lampe de chevet en céramique", 5990),
    ("CHARGEUR-30W", "Chargeur USB-C 30 W", 2490),
    ("CASQUE-BT", "Casque Bluetooth", 7990),
)
TAGS = ("Fidèle", "Revendeur", "Salon Lyon 2024", "Influenceur", "Litige", "Parrainage",
        "Presse", "Ambassadeur", "Newsletter 2023", "Cadeau Noël")  # fmt: skip
BLOCK_REASONS = (
    "Fraude à la carte bancaire signalée par la banque",
    "Impayés répétés",
    "Comportement abusif envers le service client",
    "Adresse de livraison utilisée pour de la fraude",
    "Repeated chargebacks",
)
NOTES = (
    "Préfère être livrée en point relais.",
    "Client historique de la boutique de Nantes.",
    "Allergique à la lavande : pas d'échantillons parfumés.",
    "Prefers to be contacted by e-mail.",
    "A demandé une facture au nom de la société.",
)
PAYMENTS_FR = ("Carte bancaire", "Carte bancaire", "Carte bancaire", "PayPal", "Virement",
               "Apple Pay", "Chèque")  # fmt: skip
PAYMENTS_EN = ("Card", "Card", "Card", "PayPal", "Apple Pay", "Bank transfer")
REFERRERS = ("", "", "", "https://www.google.com/", "https://www.google.fr/",
             "https://duckduckgo.com/", "https://www.instagram.com/", "https://www.facebook.com/",
             "https://www.bing.com/", "https://newsletter.example.com/")  # fmt: skip
APE_CODES = ("4791B", "4778C", "5610A", "7311Z", "6201Z", "4719B", "9003A", "7022Z")
DOMAINS = ("example.com", "example.org", "example.net")
COMPANY_FORMS_FR = ("Atelier {}", "{} & Fils", "SARL {}", "Boutique {}", "{} Création", "SAS {}")
COMPANY_FORMS_EN = ("{} Ltd", "{} & Co", "{} Studio", "{} Trading", "{} Design LLP")
# Orders: cumulative probabilities of each status. Valid ones count as sales.
STATUSES = (
    (0.76, OrderStatus.DELIVERED.value),
    (0.81, OrderStatus.SHIPPED.value),
    (0.86, OrderStatus.PAID.value),
    (0.92, OrderStatus.CANCELLED.value),
    (0.95, OrderStatus.REFUNDED.value),
    (0.98, OrderStatus.PAYMENT_ERROR.value),
    (1.01, OrderStatus.AWAITING_PAYMENT.value),
)
VALID = frozenset({OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value})

SEED = 2_025_05_17
CUSTOMERS_PER_SEED = 1000  # customers per seeded random stream
SIX_YEARS = 6 * 365 * 86_400
DAY = 86_400
ORDERS_GEOMETRIC = math.log(0.7)  # orders beyond the first: mean 0.7 / 0.3 = 2.33
# Order references: a bijection of the order id onto 9 letters (26**9 values), so they look
# random yet are unique by construction.
REFERENCE_SPACE = 26**9
REFERENCE_FACTOR = 3_141_592_653  # coprime with 26
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TRIGRAMS = tuple(a + b + c for a in _LETTERS for b in _LETTERS for c in _LETTERS)
GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def order_reference(order_id: int) -> str:
    """'ZKQWPBJMA': 9 letters like the shop's own references, unique for each order id."""
    value = (order_id * REFERENCE_FACTOR) % REFERENCE_SPACE
    high, rest = divmod(value, 17_576**2)
    middle, low = divmod(rest, 17_576)
    return _TRIGRAMS[high] + _TRIGRAMS[middle] + _TRIGRAMS[low]


def _ascii_word(text: str) -> str:
    """'Lecœur' -> 'lecoeur', "N'Diaye" -> 'ndiaye', 'Le Gall' -> 'legall': for e-mails."""
    return "".join(ch for ch in fold(text) if ch.isascii() and (ch.isalnum() or ch == "-"))


def _json_text(text: str) -> str:
    """The inside of a JSON string, escaped as json.dumps does (ASCII only)."""
    return json.dumps(text)[1:-1]


@dataclass(frozen=True)
class _Name:
    text: str
    folded: str
    ascii: str
    json: str


def _names(pool: tuple[str, ...]) -> tuple[_Name, ...]:
    return tuple(_Name(n, fold(n), _ascii_word(n), _json_text(n)) for n in pool)


def _weighted(entries: tuple[tuple, ...]) -> tuple[tuple, ...]:
    """Each city repeated by its weight, so a uniform pick follows the weights."""
    return tuple((*entry[:4], fold(entry[0])) for entry in entries for _ in range(entry[4]))


# ---------------------------------------------------------------------------------------------
# The generated rows

CUSTOMER_COLUMNS = (
    "id", "title_id", "first_name", "last_name", "email", "email_key", "phone", "phone_input",
    "mobile", "mobile_input", "birthday", "language", "company", "siret", "ape_code",
    "vat_number", "website", "social_accounts", "external_id", "is_guest", "is_enabled",
    "is_blocked", "blocked_reason", "blocked_at", "is_tax_exempt", "tax_exemption_ref",
    "is_demo", "password", "must_reset_password", "default_group_id", "newsletter",
    "newsletter_at", "partner_offers", "partner_offers_at", "sms", "sms_at", "note",
    "orders_count", "invalid_orders_count", "total_spent", "first_order_at", "last_order_at",
    "last_visit_at", "created_at", "updated_at", "version", "search_text",
)  # fmt: skip
ADDRESS_COLUMNS = (
    "customer_id", "alias", "first_name", "last_name", "company", "vat_number", "address1",
    "address2", "postcode", "city", "state", "country", "phone", "is_default_shipping",
    "is_default_billing", "created_at", "updated_at",
)  # fmt: skip
MEMBERSHIP_COLUMNS = ("customer_id", "group_id", "created_at")
TAG_COLUMNS = ("customer_id", "tag_id")
CONSENT_COLUMNS = ("customer_id", "channel", "granted", "created_at", "source", "ip_address",
                   "opt_in_level", "note")  # fmt: skip
ORDER_COLUMNS = (
    "id", "reference", "customer_id", "customer_first_name", "customer_last_name",
    "customer_email", "created_at", "status", "is_valid", "total_products", "discount_percent",
    "discount_amount", "total", "currency", "payment_method",
)  # fmt: skip
LINE_COLUMNS = ("order_id", "product_reference", "product_name", "quantity", "unit_price",
                "total")  # fmt: skip
CART_COLUMNS = ("customer_id", "status", "order_id", "items_count", "total", "currency",
                "created_at", "updated_at")  # fmt: skip
VISIT_COLUMNS = ("customer_id", "created_at", "ip_address", "referrer")
EVENT_COLUMNS = ("created_at", "kind", "source", "object_type", "object_id", "data",
                 "customer_id")  # fmt: skip


# Every table a load of generated customers writes to.
LOADED_MODELS = (
    Customer, Membership, Customer.tags.through, Address, ConsentRecord, Order, OrderLine, Cart,
    Visit, Event,
)  # fmt: skip

# Columns the services copy onto the customer row from its addresses and tags (for the list to
# filter and sort without joins). Written when the model has them.
CUSTOMER_COPIED_COLUMNS = ("country", "tags_text")


def customer_copied_columns() -> tuple[str, ...]:
    columns = {field.column for field in Customer._meta.concrete_fields}
    return tuple(column for column in CUSTOMER_COPIED_COLUMNS if column in columns)


@dataclass
class DemoRows:
    """The rows of one chunk of generated customers, table by table, parents first."""

    first_k: int
    last_k: int
    first_customer_id: int
    first_order_id: int
    next_customer_id: int = 0
    next_order_id: int = 0
    customers: list[tuple] = field(default_factory=list)
    memberships: list[tuple] = field(default_factory=list)
    tags: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    consents: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    carts: list[tuple] = field(default_factory=list)
    visits: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        # marshal, not pickle: rows are plain tuples of str/int/bool/None, and marshal packs
        # and unpacks them about twice as fast (it matters at 13 million rows).
        return marshal.dumps(tuple(getattr(self, f.name) for f in fields(self)))

    @classmethod
    def from_bytes(cls, data: bytes) -> DemoRows:
        return cls(*marshal.loads(data))

    def tables(self) -> Iterator[tuple[str, tuple[str, ...], list[tuple]]]:
        yield Customer._meta.db_table, CUSTOMER_COLUMNS + customer_copied_columns(), self.customers
        yield Membership._meta.db_table, MEMBERSHIP_COLUMNS, self.memberships
        yield Customer.tags.through._meta.db_table, TAG_COLUMNS, self.tags
        yield Address._meta.db_table, ADDRESS_COLUMNS, self.addresses
        yield ConsentRecord._meta.db_table, CONSENT_COLUMNS, self.consents
        yield Order._meta.db_table, ORDER_COLUMNS, self.orders
        yield OrderLine._meta.db_table, LINE_COLUMNS, self.lines
        yield Cart._meta.db_table, CART_COLUMNS, self.carts
        yield Visit._meta.db_table, VISIT_COLUMNS, self.visits
        yield Event._meta.db_table, EVENT_COLUMNS, self.events


@dataclass(frozen=True)
class DemoContext:
    """What generation needs from the database, read once: groups, titles and the demo tags
    (made here when missing)."""

    now: int  # seconds since 1970, UTC
    default_group_id: int
    default_discount: int  # hundredths of a percent
    pro_group: tuple[int, int] | None  # (id, discount in hundredths of a percent)
    vip_group: tuple[int, int] | None
    title_male_id: int | None
    title_female_id: int | None
    tags: tuple[tuple[int, str], ...]  # (id, name)

    @classmethod
    def load(cls, *, now: datetime.datetime | None = None) -> DemoContext:
        default = Group.objects.get(is_default=True)
        by_name = {group.name_fr: group for group in Group.objects.filter(is_default=False)}

        def discounted(name_fr: str) -> tuple[int, int] | None:
            group = by_name.get(name_fr)
            return (group.pk, _hundredths(group.discount)) if group else None

        titles = {title.gender: title.pk for title in Title.objects.order_by("-position", "-id")}
        # In the order of TAGS, whatever their ids, so customer k gets the same tags everywhere.
        tags = {tag.name_key: tag for tag in tags_get_or_create(names=TAGS)}
        return cls(
            now=int((now or timezone.now()).timestamp()),
            default_group_id=default.pk,
            default_discount=_hundredths(default.discount),
            pro_group=discounted(DEMO_GROUPS[0][0]),
            vip_group=discounted(DEMO_GROUPS[1][0]),
            title_male_id=titles.get(Gender.MALE),
            title_female_id=titles.get(Gender.FEMALE),
            tags=tuple((tags[name.lower()].pk, tags[name.lower()].name) for name in TAGS),
        )


def _hundredths(percent: Decimal) -> int:
    return int((Decimal(percent) * 100).to_integral_value())


def _cents(value: int) -> str:
    """12345 -> '123.45': a DecimalField value as text (both databases parse it exactly)."""
    return f"{value // 100}.{value % 100:02d}"


def _luhn_complete(digits: str) -> str:
    """Append the check digit that makes ``digits`` pass the Luhn test (SIREN, SIRET)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


TEST_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")
CA_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
OPT_IN_LEVELS = (
    (OptInLevel.CONFIRMED.value,) * 11
    + (OptInLevel.SINGLE.value,) * 7
    + (OptInLevel.UNKNOWN.value,) * 2
)


class DemoGenerator:
    """Makes the rows of generated customers; pure Python, no database access.

    Random numbers come only from ``Random.random`` (stable across Python versions), one
    stream per block of ``CUSTOMERS_PER_SEED`` customers, so customer k is the same whatever
    range it is generated in.
    """

    def __init__(self, context: DemoContext, *, stamp: Callable[[int], str] | None = None):
        self.context = context
        self.stamp = stamp or epoch_formatter()
        self.copied_columns = customer_copied_columns()
        self.fr_female, self.fr_male, self.fr_last = map(_names, (FR_FEMALE, FR_MALE, FR_LAST))
        self.en_female, self.en_male, self.en_last = map(_names, (EN_FEMALE, EN_MALE, EN_LAST))
        self.cities = {country: _weighted(entries) for country, entries in CITIES.items()}
        today = datetime.datetime.fromtimestamp(context.now, datetime.UTC).date()
        self.today_ordinal = today.toordinal()
        self.year = today.year
        month_start = datetime.datetime(today.year, today.month, 1, tzinfo=datetime.UTC)
        self.month_start = int(month_start.timestamp())
        self.products = tuple(
            (ref, name, price, tuple(_cents(price * q) for q in range(4)))
            for ref, name, price in PRODUCTS
        )

    def rows(self, first_k: int, last_k: int, customer_id: int, order_id: int) -> DemoRows:
        """The rows of customers first_k..last_k, numbered from the given ids."""
        out = DemoRows(first_k, last_k, customer_id, order_id, customer_id, order_id)
        k = first_k
        while k <= last_k:
            block = (k - 1) // CUSTOMERS_PER_SEED
            r = Random(SEED * 1_000_003 + block).random
            block_first = block * CUSTOMERS_PER_SEED + 1
            if block_first < k:
                # Starting inside a block (an incremental run): replay the customers before k
                # into a scratch batch, so the random stream reaches k where it always does.
                scratch = DemoRows(block_first, k - 1, 0, 0)
                for skipped in range(block_first, k):
                    self._customer(skipped, r, scratch)
            block_last = min(last_k, block_first + CUSTOMERS_PER_SEED - 1)
            for current in range(k, block_last + 1):
                self._customer(current, r, out)
            k = block_last + 1
        return out

    def _ip(self, r: Callable[[], float]) -> str:
        if r() < 0.1:
            return f"2001:db8::{int(r() * 65_535) + 1:x}"
        return f"{TEST_NETS[int(3 * r())]}{1 + int(254 * r())}"

    def _postcode(self, country: str, stems: tuple[str, ...], r: Callable[[], float]) -> str:
        stem = stems[int(len(stems) * r())]
        if country == "GB":
            letters = GB_INWARD_LETTERS
            return f"{stem} {int(10 * r())}{letters[int(20 * r())]}{letters[int(20 * r())]}"
        if country == "CA":
            return f"{stem} {int(10 * r())}{CA_LETTERS[int(20 * r())]}{int(10 * r())}"
        if country == "US":
            return f"{stem}{1 + int(99 * r()):02d}"
        return stem

    def _phone(self, country: str, block, r: Callable[[], float]) -> tuple[str, str, str]:
        """(E.164, as the person typed it, national digits) in a range kept for fiction."""
        x = r()
        if country == "FR":
            digits, national, international = FR_PHONE_BLOCKS[block]
            tail = f"{int(r() * 10_000):04d}"
            e164, plain = f"+33{digits}{tail}", f"0{digits}{tail}"
            if x < 0.5:
                typed = f"{national}{tail[:2]} {tail[2:]}"
            elif x < 0.7:
                typed = plain
            elif x < 0.85:
                typed = f"{international}{tail[:2]} {tail[2:]}"
            else:
                typed = ".".join(plain[i : i + 2] for i in range(0, 10, 2))
            return e164, typed, plain
        if country == "GB":
            digits, national, international = GB_PHONE_BLOCKS[block]
            tail = f"{int(r() * 1000):03d}"
            e164, plain = f"+44{digits}{tail}", f"0{digits}{tail}"
            typed = national + tail if x < 0.6 else plain if x < 0.8 else international + tail
            return e164, typed, plain
        tail = f"{int(r() * 100):02d}"  # US and Canada: NNN-555-0100..0199
        plain = f"{block}55501{tail}"
        if x < 0.5:
            typed = f"({block}) 555-01{tail}"
        elif x < 0.8:
            typed = f"{block}-555-01{tail}"
        else:
            typed = f"+1 {block} 555 01{tail}"
        return f"+1{plain}", typed, plain

    def _customer(self, k: int, r: Callable[[], float], out: DemoRows) -> None:
        ctx = self.context
        stamp = self.stamp
        now = ctx.now
        customer_id = out.next_customer_id
        out.next_customer_id += 1

        # Who, and where: 60 % French names (France, Belgium, Switzerland, Québec), 40 % English
        # names (United Kingdom, United States, Canada, some in France).
        female = r() < 0.52
        french = r() < 0.6
        if french:
            pool = self.fr_female if female else self.fr_male
            first = pool[int(len(pool) * r() ** 1.5)]
            last = self.fr_last[int(len(self.fr_last) * r() ** 1.5)]
            x = r()
            country = "FR" if x < 0.86 else "BE" if x < 0.92 else "CH" if x < 0.96 else "CA"
        else:
            pool = self.en_female if female else self.en_male
            first = pool[int(len(pool) * r() ** 1.5)]
            last = self.en_last[int(len(self.en_last) * r() ** 1.5)]
            x = r()
            country = "GB" if x < 0.72 else "US" if x < 0.86 else "CA" if x < 0.93 else "FR"
        language = "fr" if french else "en"
        cities = self.cities[country]
        city = cities[int(len(cities) * r())]

        # When: registrations over six years, more of them recent, about 3 % this month.
        if r() < 0.03:
            created = self.month_start + int((now - self.month_start) * r())
        else:
            created = now - int(SIX_YEARS * r() ** 1.3)
        created_text = stamp(created)

        # What kind of account.
        is_guest = r() < 0.04
        registered = not is_guest
        pro = registered and r() < 0.08
        is_blocked = registered and r() < 0.004
        blocked_at = now - int(min(now - created, 90 * DAY) * r()) if is_blocked else None
        is_enabled = is_guest or r() >= 0.01
        is_tax_exempt = registered and r() < 0.008
        until = blocked_at if is_blocked else now  # a blocked customer orders no more
        if is_guest:
            orders_wanted = 1 if r() < 0.8 else 2
        elif r() < 0.25:
            orders_wanted = 0
        else:
            orders_wanted = min(60, 1 + int(math.log(1.0 - r()) / ORDERS_GEOMETRIC))
        # Drawn whatever the database holds, so the draws that follow do not depend on it.
        vip = registered and orders_wanted >= 6 and r() < 0.45 and ctx.vip_group is not None

        # Groups: everyone is in the shop's default group; a customer's own default group (the
        # one whose discount applies) is the discount group it is in, professionals first.
        out.memberships.append((customer_id, ctx.default_group_id, created_text))
        default_group_id, discount = ctx.default_group_id, ctx.default_discount
        if vip:
            out.memberships.append((customer_id, ctx.vip_group[0], created_text))
            default_group_id, discount = ctx.vip_group
        if pro and ctx.pro_group is not None:
            out.memberships.append((customer_id, ctx.pro_group[0], created_text))
            default_group_id, discount = ctx.pro_group

        # Identity.
        x = r()
        if x < 0.6:
            local = f"{first.ascii}.{last.ascii}.{k}"
        elif x < 0.8:
            local = f"{first.ascii[0]}{last.ascii}{k}"
        else:
            local = f"{last.ascii}.{first.ascii}{k}"
        email = f"{local}@{DOMAINS[int(3 * r())]}"
        if r() < 0.08:  # some people type their address with capitals
            email = email[0].upper() + email[1:]
        title_id = None
        if r() >= 0.08:
            title_id = ctx.title_female_id if female else ctx.title_male_id
        birthday = None
        if r() < 0.55:
            age_days = int(365.25 * (18 + 62 * r()))
            birthday = datetime.date.fromordinal(self.today_ordinal - age_days).isoformat()
        company = siret = ape_code = vat_number = website = ""
        if pro or (registered and r() < 0.03):
            forms = COMPANY_FORMS_FR if french else COMPANY_FORMS_EN
            company = forms[int(len(forms) * r())].format(last.text)
            if country == "FR":
                siren = _luhn_complete(f"{int(r() * 100_000_000):08d}")
                siret = _luhn_complete(f"{siren}{int(r() * 10_000):04d}")
                ape_code = APE_CODES[int(len(APE_CODES) * r())]
                vat_number = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
            if r() < 0.5:
                website = f"https://www.{last.ascii}-{first.ascii}.example"
        social_accounts = "{}"
        if r() < 0.03:
            social_accounts = f'{{"instagram": "@{first.ascii}.{last.ascii}"}}'
        note = NOTES[int(len(NOTES) * r())] if r() < 0.04 else ""
        tax_exemption_ref = ""
        if is_tax_exempt:
            tax_exemption_ref = f"EXO-{self.year - int(3 * r())}-{k % 10_000:04d}"
        blocked_reason = BLOCK_REASONS[int(len(BLOCK_REASONS) * r())] if is_blocked else ""

        phone = phone_input = phone_national = ""
        name, stems, state, phone_block, city_folded = city
        if phone_block and r() < 0.65:
            phone, phone_input, phone_national = self._phone(country, phone_block, r)

        # Addresses: the first is the default for shipping and billing.
        if is_guest:
            addresses = 1
        else:
            x = r()
            addresses = 0 if x < 0.06 else 1 if x < 0.86 else 2
            if orders_wanted and not addresses:
                addresses = 1
        places = []
        for number in range(addresses):
            if number:
                name, stems, state, phone_block, city_folded = cities[int(len(cities) * r())]
            postcode = self._postcode(country, stems, r)
            house = 1 + int(120 * r() ** 2)
            if french or country == "FR":
                street = FR_STREET_NAMES[int(len(FR_STREET_NAMES) * r())]
                kind = FR_STREET_KINDS[int(len(FR_STREET_KINDS) * r())]
                address1 = f"{house} {kind} {street}"
                address2 = FR_ADDRESS2[int(len(FR_ADDRESS2) * r())] if r() < 0.15 else ""
                alias = "Bureau" if number else "Domicile"
            else:
                street = EN_STREET_NAMES[int(len(EN_STREET_NAMES) * r())]
                kind = EN_STREET_KINDS[int(len(EN_STREET_KINDS) * r())]
                address1 = f"{house} {street} {kind}"
                address2 = EN_ADDRESS2[int(len(EN_ADDRESS2) * r())] if r() < 0.15 else ""
                alias = "Work" if number else "Home"
            at = created_text if not number else stamp(created + int((now - created) * r()))
            row = (
                customer_id, alias, first.text, last.text, company, vat_number, address1,
                address2, postcode, name, state, country, phone if not number else "",
                not number, not number, at, at,
            )  # fmt: skip
            out.addresses.append(row)
            places.append((city_folded, postcode.lower()))

        # Marketing consents: the current state on the row, each change in the history.
        consent_state = [False, None, False, None, False, None]
        if registered:
            for index, (channel, share) in enumerate(
                (("newsletter", 0.38), ("partner_offers", 0.1), ("sms", 0.2 if phone else 0.0))
            ):
                if r() >= share:
                    continue
                given = created if r() < 0.7 else created + int((now - created) * r())
                level = OPT_IN_LEVELS[int(len(OPT_IN_LEVELS) * r())]
                given_text = stamp(given)
                out.consents.append(
                    (customer_id, channel, True, given_text, "demo", self._ip(r), level, "")
                )
                consent_state[2 * index : 2 * index + 2] = [True, given_text]
                if r() < 0.12:  # changed their mind later
                    withdrawn_text = stamp(min(now, given + 60 + int((now - given) * r())))
                    out.consents.append(
                        (customer_id, channel, False, withdrawn_text, "demo", self._ip(r),
                         OptInLevel.UNKNOWN.value, "")
                    )  # fmt: skip
                    consent_state[2 * index : 2 * index + 2] = [False, withdrawn_text]

        tags_text = ""
        if registered and r() < 0.12:
            tags = ctx.tags
            first_tag = tags[int(len(tags) * r())]
            out.tags.append((customer_id, first_tag[0]))
            tags_text = first_tag[1]
            if r() < 0.3:
                second_tag = tags[int(len(tags) * r())]
                if second_tag != first_tag:
                    out.tags.append((customer_id, second_tag[0]))
                    # As tags_text_for in the services: sorted case-insensitively, comma-joined.
                    tags_text = ", ".join(sorted((first_tag[1], second_tag[1]), key=str.lower))

        # Orders, with the default group's discount, and the figures they make.
        orders_count = invalid_orders_count = total_spent = 0
        first_order_at = last_order_at = None
        if orders_wanted:
            span = max(until - created, 1)
            # Most first orders come with the registration; the others spread until now.
            first_at = created + int((min(span, DAY) if r() < 0.6 else span) * r())
            times = [first_at]
            times += [created + int(span * r()) for _ in range(orders_wanted - 1)]
            times.sort()
            first_order_at, last_order_at = stamp(times[0]), stamp(times[-1])
            payments = PAYMENTS_FR if french else PAYMENTS_EN
            discount_text = _cents(discount)
            products = self.products
            for at in times:
                order_id = out.next_order_id
                out.next_order_id += 1
                x = r()
                status = next(name for share, name in STATUSES if x < share)
                if status == "delivered" and now - at < 3 * DAY:
                    status = "shipped"  # not there yet
                elif status == "awaiting_payment" and now - at > 14 * DAY:
                    status = "cancelled"  # never paid
                is_valid = status in VALID
                x = r()
                line_count = 1 if x < 0.55 else 2 if x < 0.85 else 3
                total_products = items = 0
                for _ in range(line_count):
                    reference, product, price, prices = products[int(len(products) * r() ** 1.3)]
                    y = r()
                    quantity = 1 if y < 0.82 else 2 if y < 0.96 else 3
                    out.lines.append(
                        (order_id, reference, product, quantity, prices[1], prices[quantity])
                    )
                    total_products += price * quantity
                    items += quantity
                # ROUND_HALF_UP of total_products * discount / 10000, as order_record does.
                discount_amount = (2 * total_products * discount + 10_000) // 20_000
                total = total_products - discount_amount
                at_text = stamp(at)
                row = (
                    order_id, order_reference(order_id), customer_id, first.text, last.text,
                    email, at_text, status, is_valid, _cents(total_products), discount_text,
                    _cents(discount_amount), _cents(total), "EUR",
                    payments[int(len(payments) * r())],
                )  # fmt: skip
                out.orders.append(row)
                if is_valid:
                    orders_count += 1
                    total_spent += total
                else:
                    invalid_orders_count += 1
                if r() < 0.1:  # ordered through a storefront cart
                    out.carts.append(
                        (customer_id, "converted", order_id, items, _cents(total), "EUR",
                         stamp(max(created, at - 300 - int(3000 * r()))), at_text)
                    )  # fmt: skip
        if registered and r() < 0.15:
            at = created + int((until - created) * r())
            items = 1 + int(3 * r())
            price = self.products[int(len(self.products) * r())][2]
            status = "open" if now - at < 2 * DAY else "abandoned"
            out.carts.append(
                (customer_id, status, None, items, _cents(price * items), "EUR", stamp(at),
                 stamp(min(until, at + int(1800 * r()))))
            )  # fmt: skip

        # Visits of the storefront; the last one is a stored figure.
        last_visit_at = None
        if r() >= 0.25:
            latest = 0
            for _ in range(1 + int(4 * r() ** 2)):
                at = created + int((now - created) * (1.0 - r() ** 3))
                latest = max(latest, at)
                referrer = REFERRERS[int(len(REFERRERS) * r())]
                out.visits.append((customer_id, stamp(at), self._ip(r), referrer))
            last_visit_at = stamp(latest)

        # The same folded text search_text_build makes, from pieces folded once per pool entry.
        parts = [first.folded, last.folded, email.lower()]
        if company:
            parts.append(fold_cached(company))
        if phone:
            parts += (phone, phone_national)
        for place in places:
            parts += place
        search_text = " ".join(parts)

        external_id = f"{EXTERNAL_ID_PREFIX}{k}"
        row = (
            customer_id, title_id, first.text, last.text, email, email.lower(), phone,
            phone_input, "", "", birthday, language, company, siret, ape_code, vat_number,
            website, social_accounts, external_id, is_guest, is_enabled, is_blocked,
            blocked_reason, stamp(blocked_at) if is_blocked else None, is_tax_exempt,
            tax_exemption_ref, False, "", False, default_group_id, *consent_state, note,
            orders_count, invalid_orders_count, _cents(total_spent), first_order_at,
            last_order_at, last_visit_at, created_text, created_text, 1, search_text,
        )  # fmt: skip
        copied = self.copied_columns
        if copied:
            # The first address is the default billing one: its country is the customer's.
            values = {"country": country if addresses else "", "tags_text": tags_text}
            row += tuple(values[column] for column in copied)
        out.customers.append(row)
        row = (
            created_text, "customer_created", Source.DEMO.value, "customer", customer_id,
            f'{{"guest": {"true" if is_guest else "false"}, "email": "{email}", '
            f'"name": "{first.json} {last.json}"}}',
            customer_id,
        )  # fmt: skip
        out.events.append(row)


# ---------------------------------------------------------------------------------------------
# Loading generated customers


class DemoLoadError(RuntimeError):
    """Generating the rows failed (in the child process); nothing was committed."""


@dataclass
class DemoLoad:
    """What ``demo_customers_generate`` did."""

    requested: int
    existing: int  # generated customers there before (the highest k)
    created: int = 0
    rows: Counter = field(default_factory=Counter)  # table -> rows written
    seconds: float = 0.0
    # Of which: after the last row, rebuilding what was deferred and committing.
    finishing_seconds: float = 0.0

    @property
    def rows_total(self) -> int:
        return sum(self.rows.values())


def demo_customers_last_k() -> int:
    """The highest k among generated customers, 0 if there are none.

    They are written in order of k with increasing ids, so the newest one holds the highest k;
    reading it from the top of the primary key stays instant at a million rows.
    """
    newest = (
        Customer.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX)
        .order_by("-pk")
        .values_list("external_id", flat=True)
        .first()
    )
    if newest is None:
        return 0
    try:
        return int(newest.removeprefix(EXTERNAL_ID_PREFIX))
    except ValueError:
        return Customer.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count()


def demo_customers_generate(
    *,
    count: int,
    chunk_size: int = 50_000,
    progress: Callable[..., None] | None = None,
    parallel: bool | None = None,
    defer_indexes: bool | None = None,
) -> DemoLoad:
    """Make sure generated customers 1..count exist; create the missing ones.

    One transaction: all the missing customers with all their rows, or nothing. Rows are made
    ``chunk_size`` customers at a time, so memory stays flat whatever the count.
    ``progress(customers, rows)`` is called after each chunk, and ``progress(0, 0, note)``
    before a longer step without chunks.

    ``parallel`` (default: for large loads, where the platform can fork) generates the rows in
    a child process while this one writes the previous chunk; generating takes about half as
    long as writing, and these machines have two cores.
    ``defer_indexes`` (default: when the load at least doubles the customers, from 100,000)
    drops indexes (and on PostgreSQL foreign keys) for the load and puts them back at the end,
    several times cheaper than maintaining them row by row (see ``_deferred_models``).
    On SQLite the trigger feeding the search index always runs once over all the new rows.
    """
    started = time.perf_counter()
    last_k = demo_customers_last_k()
    load = DemoLoad(requested=count, existing=min(last_k, count))
    if last_k >= count:
        return load
    missing = count - last_k
    if parallel is None:
        parallel = (
            missing > 2 * chunk_size
            and (os.cpu_count() or 1) > 1
            and "fork" in multiprocessing.get_all_start_methods()
        )
    if defer_indexes is None:
        defer_indexes = missing >= 100_000 and missing >= Customer.objects.count()
    with bulk_load_mode(), transaction.atomic():
        # Ids are read once and then assigned in Python: no one else may add customers or
        # orders until the load commits (SQLite: the transaction holds the write lock).
        tables_lock(Customer, Order)
        generator = DemoGenerator(DemoContext.load())
        first_customer_id = next_id(Customer)
        chunks = (_chunks_forked if parallel else _chunks)(
            generator, last_k + 1, count, chunk_size, first_customer_id, next_id(Order)
        )
        foreign_keys, indexes = _deferred_models() if defer_indexes else ((), ())
        with (
            foreign_keys_deferred(*foreign_keys),
            indexes_deferred(*indexes),
            # Whatever the size: fed row by row from one statement, the SQLite search index
            # slows down with every row (6,000 rows: 35 s; once over all of them: 0.2 s).
            insert_triggers_deferred(Customer, first_pk=first_customer_id),
            contextlib.closing(chunks),  # stops the child process if writing fails
        ):
            for rows in chunks:
                written: Counter = Counter()
                for table, columns, table_rows in rows.tables():
                    written[table] = bulk_insert(table, columns, table_rows)
                load.rows.update(written)
                load.created += rows.last_k - rows.first_k + 1
                if progress is not None:
                    progress(rows.last_k - rows.first_k + 1, written.total())
            if defer_indexes and progress is not None:
                progress(0, 0, "building indexes")
            written_at = time.perf_counter()
        sequence_reset(Customer, Order)
        if defer_indexes:
            tables_analyze(*LOADED_MODELS)
    load.seconds = time.perf_counter() - started
    load.finishing_seconds = time.perf_counter() - written_at
    return load


def _deferred_models() -> tuple[tuple[type[Model], ...], tuple[type[Model], ...]]:
    """(foreign keys, indexes) to defer in a large load, by what each database does best.

    PostgreSQL: everything loaded; checking foreign keys row by row (a trigger each) and
    updating indexes row by row both cost more than doing them once at the end.
    SQLite: its foreign-key checks are cheap lookups and cannot be dropped; the indexes worth
    deferring are those on random keys (customers' e-mails, names and dates; events' dates),
    the others grow at their end as customer ids do.
    """
    if connection.vendor == "postgresql":
        return LOADED_MODELS, LOADED_MODELS
    return (), (Customer, Event)


def _chunks(
    generator: DemoGenerator,
    first_k: int,
    last_k: int,
    chunk_size: int,
    customer_id: int,
    order_id: int,
) -> Iterator[DemoRows]:
    for start in range(first_k, last_k + 1, chunk_size):
        rows = generator.rows(start, min(last_k, start + chunk_size - 1), customer_id, order_id)
        customer_id, order_id = rows.next_customer_id, rows.next_order_id
        yield rows


def _produce(queue, generator, *arguments) -> None:
    """The child process: generate every chunk into the queue, then None (or the error)."""
    parent = os.getppid()

    def put(item) -> None:
        # Waits while the queue is full, but gives up if the parent is gone (killed): nobody
        # would ever read, and the child would wait forever.
        while True:
            try:
                queue.put(item, timeout=1)
                return
            except Full:
                if os.getppid() != parent:
                    raise SystemExit(1) from None

    try:
        for rows in _chunks(generator, *arguments):
            put(rows.to_bytes())
        put(None)
    except Exception:
        put(traceback.format_exc())


def _chunks_forked(generator: DemoGenerator, *arguments) -> Iterator[DemoRows]:
    """``_chunks`` run in a forked child. The child never touches the database connection it
    inherits; the queue holds two chunks, so memory stays flat whatever the count. (Fork, not
    spawn: the child starts at once with the generator's pools, no pickling of the setup. The
    caller should not be running other threads, which a fork does not copy.)"""
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=2)
    child = context.Process(target=_produce, args=(queue, generator, *arguments), daemon=True)
    child.start()
    try:
        while True:
            rows = queue.get()
            if rows is None:
                break
            if isinstance(rows, str):
                raise DemoLoadError(f"Generating the demo customers failed:\n{rows}")
            yield DemoRows.from_bytes(rows)
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
