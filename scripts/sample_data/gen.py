"""Generate src/bundlekd/sample_data/sessions.jsonl from the hand-written catalogue (seeded)."""

import json
import random
import statistics
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))  # catalog.py sits beside it
from catalog import CLOTHING, ELECTRONIC, FOOD  # needs the path above

E, CP = "Electronics", "Camera & Photo"
NOISE = {
    "electronic": [
        (
            "Inkwell 564 Black Ink Cartridge, Standard Yield",
            [E, "Computers & Accessories", "Printer Ink & Toner", "Inkjet Printer Ink"],
        ),
        (
            "Gamevolt Wired USB Game Controller for PC, Dual Vibration",
            [E, "Computers & Accessories", "Gaming Accessories", "Controllers"],
        ),
        (
            "Kraftlink Cat6 Ethernet Patch Cable 25ft, Snagless RJ45",
            [E, "Computers & Accessories", "Networking Products", "Cables", "Ethernet Cables"],
        ),
        (
            "Brightwave AM/FM Portable Pocket Radio with Earphones",
            [E, "Portable Audio & Video", "Radios"],
        ),
        (
            "Voltaro AA Rechargeable NiMH Batteries 2500mAh (8-Pack)",
            [E, "Accessories & Supplies", "Batteries", "Rechargeable Batteries"],
        ),
    ],
    "clothing": [
        (
            "Dreamwell Men's Flannel Plaid Pajama Pants, Red",
            ["Clothing, Shoes & Jewelry", "Men", "Clothing", "Sleep & Lounge", "Sleep Bottoms"],
        ),
        (
            "Spookhaus Adult Pirate Captain Halloween Costume",
            ["Clothing, Shoes & Jewelry", "Novelty, Costumes & More", "Costumes & Accessories"],
        ),
        (
            "Tidyhold Men's Bifold RFID Blocking Leather Wallet",
            [
                "Clothing, Shoes & Jewelry",
                "Men",
                "Accessories",
                "Wallets, Card Cases & Money Organizers",
            ],
        ),
        (
            "Ashby Women's Satin Sleep Eye Mask",
            ["Clothing, Shoes & Jewelry", "Women", "Accessories", "Sleep Masks"],
        ),
        (
            "Denima Boys' Relaxed Fit Cargo Shorts, Khaki",
            ["Clothing, Shoes & Jewelry", "Boys", "Clothing", "Shorts"],
        ),
    ],
    "food": [
        (
            "Fizzwell Lime Sparkling Mineral Water, 12 Fl Ounce (Pack of 24)",
            [
                "Grocery & Gourmet Food",
                "Beverages",
                "Bottled Beverages, Water & Drink Mixes",
                "Sparkling Water",
            ],
        ),
        (
            "Oishiya Chicken Flavor Instant Ramen Noodle Soup (Pack of 12)",
            [
                "Grocery & Gourmet Food",
                "Pantry Staples",
                "Canned, Jarred & Packaged Foods",
                "Soups, Stocks & Broths",
                "Instant Noodles",
            ],
        ),
        (
            "Fuego Verde Jalapeno Hot Sauce, 5 Fl Ounce",
            [
                "Grocery & Gourmet Food",
                "Pantry Staples",
                "Condiments & Salad Dressings",
                "Hot Sauce",
            ],
        ),
        (
            "Popworth Movie Theater Butter Microwave Popcorn (Pack of 18)",
            ["Grocery & Gourmet Food", "Snack Foods", "Popcorn", "Microwave Popcorn"],
        ),
        (
            "Kelpland Roasted Seaweed Snack Sheets (Pack of 10)",
            ["Grocery & Gourmet Food", "Snack Foods", "Dried Fruit & Vegetable Snacks"],
        ),
    ],
}

DOMAINS = [
    ("electronic", "E", "e", ELECTRONIC),
    ("clothing", "C", "c", CLOTHING),
    ("food", "F", "f", FOOD),
]


def build(domain, prefix, sid_prefix, themes, rng):
    catalog = {}  # title -> (id, path)
    theme_items = {}
    n = 0
    for name, (_, items) in themes.items():
        ids = []
        for title, path in items:
            n += 1
            catalog[f"{prefix}{n:04d}"] = (title, path)
            ids.append(f"{prefix}{n:04d}")
        theme_items[name] = ids
    noise_ids = []
    for title, path in NOISE[domain]:
        n += 1
        catalog[f"{prefix}{n:04d}"] = (title, path)
        noise_ids.append(f"{prefix}{n:04d}")
    names = list(themes)
    splits = ["train"] * 12 + ["val"] * 4 + ["test"] * 4
    sessions = []
    for idx, split in enumerate(splits, start=1):
        k = rng.choices([1, 2, 3], weights=[4, 5, 1])[0]
        chosen = rng.sample(names, k)
        items, bundles = [], []
        for t in chosen:
            pool = theme_items[t]
            size = rng.choice([2, 2, 3, 3, 3, 4, 4, 5])
            size = min(size, len(pool))
            size = min(size, 10 - len(items))
            if size < 2:
                break
            members = rng.sample(pool, size)
            items.extend(members)
            bundles.append({"items": members, "intent": rng.choice(themes[t][0])})
        extra = rng.choice([0, 0, 1, 1, 2])
        others = [i for t in names if t not in chosen for i in theme_items[t]] + noise_ids
        for i in rng.sample(others, extra):
            if len(items) < 10:
                items.append(i)
        items = items[:10]
        rng.shuffle(items)
        order = {i: p for p, i in enumerate(items)}
        rows = []
        for i in items:
            row = {"item_id": i, "title": catalog[i][0]}
            if split == "train":
                row["categories"] = [catalog[i][1]]
            rows.append(row)
        for b in bundles:
            b["items"] = sorted(b["items"], key=order.__getitem__)
        sessions.append(
            {
                "session_id": f"{sid_prefix}{idx:03d}",
                "domain": domain,
                "split": split,
                "items": rows,
                "bundles": bundles,
            }
        )
    return sessions


rng = random.Random(20240521)
out = []
for d in DOMAINS:
    out.extend(build(*d, rng))
with open(sys.argv[1], "w") as f:
    for s in out:
        f.write(json.dumps(s, ensure_ascii=False) + "\n")

for d, *_ in DOMAINS:
    ss = [s for s in out if s["domain"] == d]
    print(
        d,
        statistics.mean(len(s["items"]) for s in ss),
        min(len(s["items"]) for s in ss),
        max(len(s["items"]) for s in ss),
        sum(len(s["bundles"]) for s in ss),
        sum(
            len(
                set(i["item_id"] for i in s["items"])
                - {x for b in s["bundles"] for x in b["items"]}
            )
            for s in ss
        ),
    )
