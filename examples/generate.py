"""Regenerates the example shop (``customers.csv``, ``orders.csv`` and ``.jsonl`` twins).

A seeded, made-up small shop: 300 customers, a few thousand orders over the two years up to
2025-12-31, heavy-tailed purchase rates, a few refunds and cancellations, and a handful of
deliberately malformed rows (each reported by the import with its line and reason). Phone
numbers are from ranges reserved for fiction; e-mail addresses use example.com/.org/.net.

    .venv/bin/python examples/generate.py
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
END = datetime(2025, 12, 31, 18, 0, tzinfo=UTC)
FIRST = [
    "Alice",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Finn",
    "Grace",
    "Harry",
    "Isla",
    "Jack",
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "陳大文",
    "林美玲",
    "黃志明",
    "吳淑芬",
    "張家豪",
]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts"]
TAGS = [
    "young-parent",
    "baby-products",
    "value-seeker",
    "tea-lover",
    "gift-buyer",
    "b2b",
    "industry-hospitality",
    "company-small",
    "needs-customisation",
    "premium",
]
PLACES = [
    ("en", "Europe/London"),
    ("zh-Hans", "Asia/Shanghai"),
    ("zh-CN", "Asia/Shanghai"),
    ("zh-Hant", "Asia/Hong_Kong"),
    ("zh-TW", "Asia/Taipei"),
    ("", ""),
]


def birthday(rng: random.Random) -> str:
    return f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def customers(rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for i in range(1, 301):
        first = rng.choice(FIRST)
        name = first if not first.isascii() else f"{first} {rng.choice(LAST)}"
        language, zone = rng.choice(PLACES)
        if i % 3 == 0:
            phone = f"+86 138 0013 {8000 + i:04d}"
        elif i % 3 == 1:
            phone = f"+44 7700 900{i:03d}"
        else:
            phone = f"0044-7700-900{i:03d}" if i % 2 else ""
        rows.append(
            {
                "customer_ref": f"C{i:05d}",
                "name": name,
                "phone": phone,
                "email": f"customer{i}@example.{rng.choice(['com', 'org', 'net'])}"
                if rng.random() < 0.8
                else "",
                "birthday": birthday(rng) if rng.random() < 0.6 else "",
                "language": language,
                "timezone": zone,
                "tags": ";".join(rng.sample(TAGS, rng.randint(0, 3))),
            }
        )
    # Malformed rows, each for a different reason.
    rows.insert(40, {**rows[40], "customer_ref": "C90001", "email": "not-an-email"})
    rows.insert(90, {**rows[90], "customer_ref": "C90002", "birthday": "1990-02-30"})
    rows.insert(150, {**rows[150], "customer_ref": "", "name": "Nobody"})
    rows.insert(200, {**rows[200], "customer_ref": "C90003", "timezone": "Mars/Olympus"})
    rows.insert(250, {**rows[250], "customer_ref": "C90004", "phone": "call me"})
    return rows


def orders(rng: random.Random) -> list[dict[str, str]]:
    rows = []
    n = 0
    for i in range(1, 301):
        if i % 10 == 0:
            continue  # prospects: never ordered
        rate = rng.paretovariate(1.3) * 2.5  # orders per year, heavy-tailed
        count = min(60, max(1, int(rate * 2)))
        start = END - timedelta(days=rng.randint(30, 730))
        for _ in range(count):
            n += 1
            created = start + timedelta(seconds=rng.randint(0, int((END - start).total_seconds())))
            status = rng.choices(
                ["delivered", "paid", "refunded", "cancelled", "pending"], [70, 15, 5, 5, 5]
            )[0]
            paid = created + timedelta(minutes=rng.randint(1, 120))
            delivered = paid + timedelta(days=rng.randint(1, 6))
            naive = rng.random() < 0.3
            fmt = (
                (lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")) if naive else (lambda t: t.isoformat())
            )
            rows.append(
                {
                    "order_id": f"O{n:06d}",
                    "customer_ref": f"C{i:05d}",
                    "amount": f"{rng.lognormvariate(4.5, 0.8):.2f}",
                    "currency": "CNY",
                    "status": status,
                    "created_at": fmt(created),
                    "paid_at": fmt(paid) if status in ("paid", "delivered", "refunded") else "",
                    "delivered_at": fmt(delivered)
                    if status == "delivered" and delivered < END
                    else "",
                    "coupon_code": rng.choice(["", "", "", "WELCOME10", "SPRING5"]),
                }
            )
    rows.sort(key=lambda r: r["created_at"])
    # Orders of a customer the shop's customer file does not list: the import creates them.
    rows.append({**rows[-1], "order_id": "O900001", "customer_ref": "W00001", "status": "paid"})
    bad = [
        {**rows[100], "order_id": "O900002", "status": "shipped"},
        {**rows[500], "order_id": "O900003", "amount": "12,50"},
        {**rows[900], "order_id": "O900004", "created_at": "yesterday"},
        {**rows[1300], "order_id": "O900005", "amount": "-5.00"},
        {**rows[1700], "order_id": "O900006", "currency": "USD"},
    ]
    for k, row in enumerate(bad):
        rows.insert(150 + 400 * k, row)
    return rows


def write(name: str, rows: list[dict[str, str]]) -> None:
    with (HERE / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({k: v for k, v in row.items() if v != ""}, ensure_ascii=False))
            handle.write("\n")


if __name__ == "__main__":
    write("customers", customers(random.Random(5)))
    write("orders", orders(random.Random(55)))
