"""The hand-written sample catalogue, one module per domain (see gen.py)."""

from catalog_clothing import CLOTHING
from catalog_electronic import ELECTRONIC
from catalog_food import FOOD

__all__ = ["CLOTHING", "ELECTRONIC", "FOOD"]
