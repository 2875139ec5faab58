"""Hand-written food catalogue for the sample dataset (see gen.py)."""

G = "Grocery & Gourmet Food"
BEV = "Beverages"
CB = "Cooking & Baking"
PS = "Pantry Staples"
SN = "Snack Foods"
CC = "Candy & Chocolate"

FOOD = {
    "coffee": (
        ["Coffee break", "Morning coffee supplies", "Coffee lover's pantry"],
        [
            (
                "Brewden Breakfast Blend Medium Roast Coffee, Single-Serve Pods (72 Count)",
                [G, BEV, "Coffee, Tea & Cocoa", "Coffee", "Single-Serve Capsules & Pods"],
            ),
            (
                "Highland Mill Colombian Dark Roast Ground Coffee, 12 Ounce Bag",
                [G, BEV, "Coffee, Tea & Cocoa", "Coffee", "Ground Coffee"],
            ),
            (
                "Creamery Lane French Vanilla Powdered Coffee Creamer, 15 Ounce",
                [G, BEV, "Coffee, Tea & Cocoa", "Creamers"],
            ),
            (
                "Nonna Rosa Almond Biscotti, Individually Wrapped (24 Count)",
                [G, SN, "Cookies", "Biscotti"],
            ),
            (
                "Brewden Hazelnut Light Roast Coffee, Single-Serve Pods (24 Count)",
                [G, BEV, "Coffee, Tea & Cocoa", "Coffee", "Single-Serve Capsules & Pods"],
            ),
        ],
    ),
    "tea": (
        ["Tea time", "Relaxing tea set", "Herbal tea and sweets"],
        [
            (
                "Jadeleaf Organic Green Tea, 100 Tea Bags",
                [G, BEV, "Coffee, Tea & Cocoa", "Tea", "Green"],
            ),
            (
                "Meadowcalm Chamomile Herbal Tea, Caffeine Free (6 Boxes of 20 Bags)",
                [G, BEV, "Coffee, Tea & Cocoa", "Tea", "Herbal"],
            ),
            (
                "Goldcomb Raw Wildflower Honey, 16 Ounce Squeeze Bottle",
                [G, PS, "Jams, Jellies & Sweet Spreads", "Honey"],
            ),
            (
                "Kilbride Scottish Butter Shortbread Cookies, 10.6 Ounce Tin",
                [G, SN, "Cookies", "Shortbread"],
            ),
            (
                "Jadeleaf Tea Sampler Gift Box, 8 Varieties (48 Bags)",
                [G, BEV, "Coffee, Tea & Cocoa", "Tea", "Tea Samplers"],
            ),
        ],
    ),
    "baking": (
        ["Baking supplies", "Cookie baking day", "Holiday baking"],
        [
            (
                "Millbrook Unbleached All-Purpose Flour, 5 Pound Bag",
                [G, CB, "Flours & Meals", "All-Purpose Flour"],
            ),
            (
                "Vanestra Pure Madagascar Vanilla Extract, 4 Fl Ounce",
                [G, CB, "Extracts & Flavoring"],
            ),
            (
                "Millbrook Double Acting Baking Powder, 10 Ounce Can",
                [G, CB, "Leaveners & Yeasts", "Baking Powder"],
            ),
            (
                "Cocoro Semi-Sweet Chocolate Chips, 24 Ounce Bag",
                [G, CB, "Baking Chocolates, Carob & Cocoa", "Chips"],
            ),
            (
                "Canefield Light Brown Sugar, 2 Pound Bag",
                [G, CB, "Sugar Substitutes & Sugars", "Brown"],
            ),
        ],
    ),
    "candy": (
        ["Candy assortment", "Party candy", "Sweets for movie night"],
        [
            ("Chewbee Original Gummy Bears, 5 Pound Bulk Bag", [G, CC, "Gummy Candy"]),
            (
                "Sugarloft Assorted Fruit Hard Candy, Individually Wrapped, 2 Pounds",
                [G, CC, "Hard Candy"],
            ),
            (
                "Cocoro Milk Chocolate Candy Bars, 1.55 Ounce (36 Count)",
                [G, CC, "Candy & Chocolate Bars"],
            ),
            ("Twistwell Red Licorice Twists, 16 Ounce Tray", [G, CC, "Licorice"]),
            (
                "Sugarloft Holiday Chocolate and Candy Assortment Gift Box",
                [G, CC, "Candy & Chocolate Assortments"],
            ),
        ],
    ),
    "snacks": (
        ["Healthy snacks", "Snacks for hiking", "Office snack drawer"],
        [
            (
                "Orchard Crest Roasted Unsalted Almonds, 16 Ounce",
                [G, SN, "Nuts & Seeds", "Almonds"],
            ),
            (
                "Trailhead Oats and Honey Crunchy Granola Bars (48 Count)",
                [G, "Breakfast Foods", "Breakfast & Cereal Bars", "Granola Bars"],
            ),
            (
                "Orchard Crest Dried Mango Slices, No Sugar Added, 12 Ounce",
                [G, "Dried Fruits & Vegetables", "Dried Fruits", "Mangoes"],
            ),
            ("Trailhead Mountain Trail Mix with Chocolate Pieces, 26 Ounce", [G, SN, "Trail Mix"]),
            (
                "Orchard Crest Lightly Salted Cashews, 18 Ounce Canister",
                [G, SN, "Nuts & Seeds", "Cashews"],
            ),
        ],
    ),
    "italian": (
        ["Italian dinner", "Pasta night", "Ingredients for spaghetti"],
        [
            (
                "Bellavita Spaghetti No. 5 Durum Wheat Pasta, 1 Pound (Pack of 4)",
                [G, PS, "Pasta & Noodles", "Pasta", "Spaghetti"],
            ),
            (
                "Nonna Rosa Traditional Marinara Pasta Sauce, 24 Ounce Jar",
                [G, PS, "Sauces, Gravies & Marinades", "Pasta Sauces", "Marinara"],
            ),
            (
                "Oliveto Extra Virgin Olive Oil, Cold Pressed, 1 Liter",
                [G, PS, "Oils, Vinegars & Salad Dressings", "Oils", "Olive"],
            ),
            (
                "Bellavita Grated Parmesan Cheese, 8 Ounce Shaker",
                [G, "Dairy, Cheese & Eggs", "Cheese", "Parmesan"],
            ),
            (
                "Spicehaus Italian Seasoning Blend, 2.5 Ounce Jar",
                [G, CB, "Herbs, Spices & Seasonings", "Mixed Spices & Seasonings"],
            ),
        ],
    ),
    "breakfast": (
        ["Breakfast foods", "Pancake breakfast", "Weekend brunch"],
        [
            (
                "Hearthfield Old Fashioned Rolled Oats, 42 Ounce Canister",
                [G, "Breakfast Foods", "Cereals", "Oatmeal"],
            ),
            (
                "Maplecrest Pure Grade A Amber Maple Syrup, 12.5 Fl Ounce",
                [G, "Breakfast Foods", "Toppings", "Syrups"],
            ),
            (
                "Hearthfield Buttermilk Complete Pancake and Waffle Mix, 32 Ounce",
                [G, "Breakfast Foods", "Pancake & Waffle Mixes"],
            ),
            (
                "Goldcomb Strawberry Preserves, 18 Ounce Jar",
                [G, PS, "Jams, Jellies & Sweet Spreads", "Jams"],
            ),
        ],
    ),
    "spices": (
        ["Spice rack basics", "Seasonings for the kitchen", "Grilling spices"],
        [
            (
                "Spicehaus Whole Black Peppercorns, 6 Ounce Grinder",
                [G, CB, "Herbs, Spices & Seasonings", "Single Herbs & Spices", "Pepper"],
            ),
            (
                "Spicehaus Granulated Garlic Powder, 8 Ounce",
                [G, CB, "Herbs, Spices & Seasonings", "Single Herbs & Spices", "Garlic"],
            ),
            (
                "Spicehaus Smoked Spanish Paprika, 4 Ounce Tin",
                [G, CB, "Herbs, Spices & Seasonings", "Single Herbs & Spices", "Paprika"],
            ),
            (
                "Spicehaus Ground Ceylon Cinnamon, 3.5 Ounce",
                [G, CB, "Herbs, Spices & Seasonings", "Single Herbs & Spices", "Cinnamon"],
            ),
        ],
    ),
}
