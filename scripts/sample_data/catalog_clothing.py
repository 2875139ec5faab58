"""Hand-written clothing catalogue for the sample dataset (see gen.py)."""

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
