"""A small document set for grounding a language model: the customer terms of a made-up food shop.

Written for this course (lab 15, "Generative AI in practice"): **Larder & Co.** does not exist, and
every figure below is invented. The documents read like the help pages of a real online shop so
that the lab can ask factual questions whose right answer is known (a number stated in exactly one
document) and measure when a model's answer contradicts the source. Licence: the same as the
course (written for it, no third-party text).

The documents are Python data rather than package files so that no packaging configuration is
needed: ``from labs.llm_docs import DOCUMENTS``. Each is a dict with ``id`` (a short slug),
``title`` and ``text`` (3-5 sentences). Nothing here holds an answer to an exercise.
"""

from __future__ import annotations

__all__ = ["DOCUMENTS", "SHOP"]

SHOP = "Larder & Co."

DOCUMENTS: list[dict[str, str]] = [
    {
        "id": "returns",
        "title": "Returns and refunds",
        "text": (
            "Unopened items can be returned within 30 days of delivery for a full refund. "
            "Opened food items cannot be returned unless they are faulty. "
            "Start a return from the Orders page; we email a free returns label. "
            "Refunds are paid to the original payment method within 5 working days of the return arriving."
        ),
    },
    {
        "id": "delivery",
        "title": "Delivery",
        "text": (
            "Standard delivery takes 3 to 5 working days and costs $4.95. "
            "Standard delivery is free on orders over $40. "
            "Express delivery arrives the next working day and costs $9.95 when you order before 2 pm. "
            "We deliver to addresses in the United States only."
        ),
    },
    {
        "id": "damaged",
        "title": "Damaged or faulty items",
        "text": (
            "If an item arrives damaged or faulty, report it within 48 hours of delivery. "
            "Send a photo of the item and its packaging with your order number. "
            "We then send a replacement free of charge, or a refund if the item is out of stock."
        ),
    },
    {
        "id": "tasting-club",
        "title": "The Tasting Club subscription",
        "text": (
            "The Tasting Club sends a box of six seasonal products every month for $29. "
            "To stop the next box, cancel before the 20th of the month. "
            "You can skip up to 3 months a year at no cost. "
            "Boxes already dispatched cannot be cancelled."
        ),
    },
    {
        "id": "loyalty",
        "title": "Loyalty points",
        "text": (
            "Members earn 1 point for every dollar spent. "
            "Every 100 points can be exchanged for $5 off an order. "
            "Points expire 12 months after they are earned. "
            "Points cannot be exchanged for cash."
        ),
    },
    {
        "id": "allergens",
        "title": "Allergens and storage",
        "text": (
            "Every product page lists the 14 major allergens the product contains. "
            "Our nut-free range is made in a separate kitchen that handles no nuts. "
            "Store coffee and tea in an airtight container away from light, and use them within 6 weeks of opening."
        ),
    },
    {
        "id": "privacy",
        "title": "Your data",
        "text": (
            "We keep your order history for 6 years, as tax law requires. "
            "You can download or delete your account data from the Account page at any time. "
            "We never sell customer data, and card numbers are handled only by our payment provider."
        ),
    },
]
