"""Hand-written catalogue for the bundlekd sample data (invented brands and titles)."""

E = "Electronics"
CA = "Computers & Accessories"
CP = "Camera & Photo"
CE = "Cell Phones & Accessories"
HA = "Home Audio"
TV = "Television & Video"
PA = "Portable Audio & Video"

ELECTRONIC = {
    "laptop": (
        ["Laptop accessories", "Accessories for a new laptop", "Work-from-anywhere laptop kit"],
        [
            (
                "Voltaro 15.6 Inch Neoprene Laptop Sleeve with Zipper Pocket, Charcoal Grey",
                [
                    E,
                    CA,
                    "Laptop & Netbook Computer Accessories",
                    "Bags, Cases & Sleeves",
                    "Sleeves",
                ],
            ),
            (
                "Nexwave M220 2.4GHz Wireless Optical Mouse with Nano Receiver, Black",
                [E, CA, "Mice"],
            ),
            (
                "Kraftlink 4-Port USB 3.0 Ultra Slim Data Hub for Laptop and Ultrabook",
                [E, CA, "USB Hubs"],
            ),
            (
                "Coolpeak Laptop Cooling Pad with 3 Quiet Fans, fits 12-17 Inch Notebooks",
                [E, CA, "Laptop & Netbook Computer Accessories", "Cooling Pads & External Fans"],
            ),
            (
                "PowerLume 65W AC Adapter Charger for Lenora ThinBook and IdeaSlim Laptops",
                [E, CA, "Laptop & Netbook Computer Accessories", "Chargers & Adapters"],
            ),
            ("Nexwave K300 Slim Wireless Keyboard, Full Size, Quiet Keys", [E, CA, "Keyboards"]),
        ],
    ),
    "phone": (
        ["Phone protection", "Smartphone essentials", "Phone case and charging"],
        [
            (
                "ArmorShell Slim Hybrid Case for Galaxion S4, Shockproof Bumper, Black",
                [E, CE, "Cases"],
            ),
            (
                "ClearGuard Tempered Glass Screen Protector for Galaxion S4 (2-Pack)",
                [E, CE, "Accessories", "Screen Protectors"],
            ),
            (
                "Voltaro Dual USB Car Charger 3.4A with LED Indicator",
                [E, CE, "Accessories", "Chargers & Power Adapters", "Car Chargers"],
            ),
            (
                "Kraftlink Micro USB Cable 6ft Braided Nylon, Fast Charging (3-Pack)",
                [E, CA, "Cables & Accessories", "Cables & Interconnects", "USB Cables"],
            ),
            ("ArmorShell Folio Wallet Case for Fonix 5 and 5S, Brown Leather", [E, CE, "Cases"]),
            (
                "ClearGuard Anti-Glare Matte Screen Protector for Fonix 5/5S (3-Pack)",
                [E, CE, "Accessories", "Screen Protectors"],
            ),
        ],
    ),
    "camera": (
        ["Camera gear", "Photography accessories", "DSLR travel kit"],
        [
            (
                "Lumora Compact DSLR Camera Shoulder Bag with Rain Cover, Black",
                [E, CP, "Bags & Cases", "Camera Cases"],
            ),
            (
                "Swiftcard 32GB SDHC Class 10 UHS-I Memory Card up to 80MB/s",
                [E, CA, "Memory Cards", "SD Cards"],
            ),
            (
                "Wattzen Replacement Battery for Kanon LP-E8, 1200mAh Li-ion",
                [E, CP, "Accessories", "Batteries & Chargers", "Batteries"],
            ),
            (
                "Stedro 60-Inch Lightweight Aluminum Camera Tripod with Carry Bag",
                [E, CP, "Accessories", "Tripods & Monopods", "Complete Tripods"],
            ),
            (
                "Lumora 7-in-1 Lens Cleaning Kit with Blower, Brush and Microfiber Cloths",
                [E, CP, "Accessories", "Cleaning Equipment", "Cleaning Kits"],
            ),
            (
                "Optivex 58mm UV Protection Filter, Multi-Coated",
                [E, CP, "Accessories", "Filters & Accessories", "UV Filters"],
            ),
        ],
    ),
    "theater": (
        ["Home theater setup", "TV wall mounting and cables", "Living room entertainment"],
        [
            (
                "SignalPro High Speed HDMI Cable 10ft with Ethernet, 4K Ready",
                [
                    E,
                    "Accessories & Supplies",
                    "Audio & Video Accessories",
                    "Cables & Interconnects",
                    "Video Cables",
                    "HDMI Cables",
                ],
            ),
            (
                "MountRite Full Motion TV Wall Mount for 32-60 Inch LED LCD TVs",
                [
                    E,
                    "Accessories & Supplies",
                    "Audio & Video Accessories",
                    "TV Accessories & Parts",
                    "TV Mounts",
                ],
            ),
            (
                "Sonivo 2.1 Channel Soundbar with Wireless Subwoofer, 120W",
                [E, HA, "Speakers", "Sound Bars"],
            ),
            (
                "Remora 8-Device Universal Remote Control with Backlit Keys",
                [E, "Accessories & Supplies", "Audio & Video Accessories", "Remote Controls"],
            ),
            (
                "SignalPro 3-Port HDMI Switch with IR Remote, 1080p",
                [
                    E,
                    "Accessories & Supplies",
                    "Audio & Video Accessories",
                    "Cables & Interconnects",
                    "Video Cables",
                    "HDMI Switches",
                ],
            ),
        ],
    ),
    "pcbuild": (
        ["Building a desktop PC", "PC upgrade parts", "Gaming PC build"],
        [
            (
                "Stratix 250GB 2.5 Inch SATA III Internal Solid State Drive",
                [E, CA, "Data Storage", "Internal Solid State Drives"],
            ),
            (
                "Corelane 8GB Kit (2x4GB) DDR3 1600MHz Desktop Memory",
                [E, CA, "Computer Components", "Memory"],
            ),
            (
                "Thermex 550W 80 Plus Bronze ATX Power Supply",
                [E, CA, "Computer Components", "Power Supplies"],
            ),
            (
                "Vortana Mid Tower ATX Gaming Computer Case with Side Window",
                [E, CA, "Computer Components", "Computer Cases"],
            ),
            (
                "Thermex Frost 120mm CPU Cooler with Dual Heatpipes",
                [E, CA, "Computer Components", "Fans & Cooling", "CPU Cooling Fans"],
            ),
            (
                "Radeontek 2GB GDDR5 PCI Express Graphics Card, HDMI DVI",
                [E, CA, "Computer Components", "Graphics Cards"],
            ),
        ],
    ),
    "storage": (
        ["Data storage", "Backup and storage devices", "Storage devices"],
        [
            (
                "Datavault 1TB USB 3.0 Portable External Hard Drive, Black",
                [E, CA, "Data Storage", "External Hard Drives"],
            ),
            (
                "Swiftcard 64GB USB 3.0 Flash Drive, Metal Keyring Design",
                [E, CA, "Data Storage", "USB Flash Drives"],
            ),
            (
                "Datavault 2TB Desktop External Hard Drive USB 3.0 for Backup",
                [E, CA, "Data Storage", "External Hard Drives"],
            ),
            (
                "Discora 50-Pack DVD-R 16x 4.7GB Recordable Discs, Spindle",
                [E, CA, "Data Storage", "Blank Media", "DVD-R Discs"],
            ),
        ],
    ),
    "audio": (
        ["Music on the go", "Headphones and speakers", "Portable audio"],
        [
            (
                "Sonivo Over-Ear Studio Headphones with Detachable Cable",
                [E, "Headphones", "Over-Ear Headphones"],
            ),
            (
                "Beatline Portable Bluetooth Speaker, 10 Hour Battery, Waterproof",
                [E, PA, "Portable Speakers & Docks", "Portable Bluetooth Speakers"],
            ),
            (
                "Kraftlink 3.5mm Auxiliary Audio Cable 4ft, Gold Plated",
                [
                    E,
                    "Accessories & Supplies",
                    "Audio & Video Accessories",
                    "Cables & Interconnects",
                    "Audio Cables",
                ],
            ),
            (
                "Beatline In-Ear Earbuds with Microphone and Volume Control, Blue",
                [E, "Headphones", "Earbud Headphones"],
            ),
            (
                "Tunora 8GB MP3 Player with FM Radio and Voice Recorder",
                [E, PA, "MP3 & MP4 Players"],
            ),
        ],
    ),
}

CSJ = "Clothing, Shoes & Jewelry"

CLOTHING = {
    "running": (
        ["Running outfit", "Workout gear", "Gear for a morning run"],
        [
            (
                "Stridex Men's Cushion Running Shoe, Grey/Volt",
                [CSJ, "Men", "Shoes", "Athletic", "Running"],
            ),
            (
                "Stridex Men's 7 Inch Lined Running Shorts with Zip Pocket",
                [CSJ, "Men", "Clothing", "Active", "Active Shorts"],
            ),
            (
                "Dryfit Pro Men's Moisture Wicking Short Sleeve Athletic Tee",
                [CSJ, "Men", "Clothing", "Active", "Active Shirts & Tees"],
            ),
            (
                "Pacer Performance No-Show Running Socks (6 Pairs)",
                [CSJ, "Men", "Clothing", "Socks", "Athletic Socks"],
            ),
            (
                "Stridex Unisex Lightweight Running Cap, Reflective Logo",
                [CSJ, "Men", "Accessories", "Hats & Caps", "Baseball Caps"],
            ),
        ],
    ),
    "office": (
        ["Office wear", "Business outfit for men", "Outfit for a job interview"],
        [
            (
                "Hartwell Men's Slim Fit Non-Iron Dress Shirt, White",
                [CSJ, "Men", "Clothing", "Shirts", "Dress Shirts"],
            ),
            (
                "Hartwell Men's Classic Silk Necktie, Navy Stripe",
                [CSJ, "Men", "Accessories", "Neckties"],
            ),
            (
                "Bracken Men's Genuine Leather Dress Belt with Silver Buckle, Black",
                [CSJ, "Men", "Accessories", "Belts"],
            ),
            (
                "Corvino Men's Cap-Toe Oxford Dress Shoe, Black Leather",
                [CSJ, "Men", "Shoes", "Oxfords"],
            ),
            (
                "Hartwell Men's Flat Front Wool Dress Pant, Charcoal",
                [CSJ, "Men", "Clothing", "Pants", "Dress"],
            ),
        ],
    ),
    "beach": (
        ["Beach vacation", "Summer beach look", "Swim and sun"],
        [
            (
                "Marisol Women's Halter One-Piece Swimsuit, Navy Floral",
                [CSJ, "Women", "Clothing", "Swimsuits & Cover Ups", "One-Pieces"],
            ),
            (
                "Solaro Classic Polarized Aviator Sunglasses, Gold Frame",
                [CSJ, "Women", "Accessories", "Sunglasses & Eyewear Accessories", "Sunglasses"],
            ),
            (
                "Sandbar Women's Cushioned Flip Flop Sandal, Coral",
                [CSJ, "Women", "Shoes", "Sandals"],
            ),
            (
                "Marisol Women's Wide Brim Floppy Straw Sun Hat",
                [CSJ, "Women", "Accessories", "Hats & Caps", "Sun Hats"],
            ),
            (
                "Marisol Women's Crochet Beach Cover Up Dress, White",
                [CSJ, "Women", "Clothing", "Swimsuits & Cover Ups", "Cover-Ups"],
            ),
        ],
    ),
    "winter": (
        ["Winter warm clothes", "Staying warm in the snow", "Cold weather accessories"],
        [
            (
                "Northpeak Men's Hooded Packable Down Jacket, Black",
                [CSJ, "Men", "Clothing", "Jackets & Coats", "Down & Parkas"],
            ),
            (
                "Northpeak Unisex Cable Knit Cuffed Beanie, Heather Grey",
                [CSJ, "Men", "Accessories", "Hats & Caps", "Skullies & Beanies"],
            ),
            (
                "Frostguard Touchscreen Fleece Lined Winter Gloves",
                [CSJ, "Men", "Accessories", "Gloves & Mittens"],
            ),
            (
                "Northpeak Soft Plaid Cashmere Feel Winter Scarf",
                [CSJ, "Men", "Accessories", "Scarves"],
            ),
            (
                "Frostguard Merino Wool Thermal Hiking Socks (3 Pairs)",
                [CSJ, "Men", "Clothing", "Socks", "Casual Socks"],
            ),
        ],
    ),
    "casual": (
        ["Casual weekend outfit", "Everyday women's look", "Jeans and boots outfit"],
        [
            ("Denima Women's Mid Rise Skinny Jean, Dark Wash", [CSJ, "Women", "Clothing", "Jeans"]),
            (
                "Lilette Women's Chiffon Button Down Blouse, Ivory",
                [CSJ, "Women", "Clothing", "Tops & Tees", "Blouses & Button-Down Shirts"],
            ),
            (
                "Corvino Women's Stacked Heel Suede Ankle Bootie, Taupe",
                [CSJ, "Women", "Shoes", "Boots", "Ankle & Bootie"],
            ),
            (
                "Lilette Women's Vegan Leather Crossbody Bag, Cognac",
                [CSJ, "Women", "Handbags & Wallets", "Cross-Body Bags"],
            ),
            (
                "Lilette Women's Open Front Long Sleeve Cardigan, Camel",
                [CSJ, "Women", "Clothing", "Sweaters", "Cardigans"],
            ),
        ],
    ),
    "jewelry": (
        ["Jewelry set", "Gift jewelry", "Matching jewelry"],
        [
            (
                "Aurelle Sterling Silver Cubic Zirconia Stud Earrings",
                [CSJ, "Women", "Jewelry", "Earrings", "Stud"],
            ),
            (
                "Aurelle Sterling Silver Heart Pendant Necklace, 18 Inch",
                [CSJ, "Women", "Jewelry", "Necklaces", "Pendants"],
            ),
            (
                "Aurelle Rose Gold Plated Charm Bangle Bracelet",
                [CSJ, "Women", "Jewelry", "Bracelets", "Bangle"],
            ),
            (
                "Velmora Women's Slim Leather Strap Quartz Watch, Rose Gold",
                [CSJ, "Women", "Watches", "Wrist Watches"],
            ),
        ],
    ),
    "baby": (
        ["Baby clothes", "Outfit for a newborn", "Baby shower gift"],
        [
            (
                "Littlebud Baby 5-Pack Cotton Short Sleeve Bodysuits, 0-3 Months",
                [CSJ, "Baby", "Baby Girls", "Clothing", "Bodysuits"],
            ),
            (
                "Littlebud Baby Non-Skid Cotton Socks (8 Pairs)",
                [CSJ, "Baby", "Baby Girls", "Clothing", "Socks"],
            ),
            (
                "Littlebud Newborn Knotted Cotton Beanie Hat (3-Pack)",
                [CSJ, "Baby", "Baby Girls", "Accessories", "Hats & Caps"],
            ),
            (
                "Tinytoes Baby Soft Sole Leather Crib Shoes",
                [CSJ, "Baby", "Baby Girls", "Shoes", "Crib Shoes"],
            ),
        ],
    ),
    "yoga": (
        ["Yoga outfit", "Clothes for yoga class", "Women's activewear"],
        [
            (
                "Zenflex Women's High Waist Yoga Pants with Pockets, Black",
                [CSJ, "Women", "Clothing", "Active", "Active Pants"],
            ),
            (
                "Zenflex Women's Medium Support Racerback Sports Bra",
                [CSJ, "Women", "Clothing", "Active", "Sports Bras"],
            ),
            (
                "Zenflex Women's Loose Fit Flowy Yoga Tank Top",
                [CSJ, "Women", "Clothing", "Active", "Active Shirts & Tees"],
            ),
            (
                "Pacer Women's Non-Slip Grip Socks for Yoga and Pilates",
                [CSJ, "Women", "Clothing", "Socks", "Athletic Socks"],
            ),
        ],
    ),
}

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
