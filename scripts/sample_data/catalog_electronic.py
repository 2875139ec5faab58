"""Hand-written electronic catalogue for the sample dataset (see gen.py)."""

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
