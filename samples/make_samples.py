"""Write the sample seller files in this folder (run again after editing; output is fixed).

The samples are what sellers actually send: Amazon's flat-file template, a friendly CSV
from a shop system, an Excel workbook, a file full of mistakes, and a Windows-1252 export.
Ship dates are in late 2025, so validate them with samples/settings.toml (its max age is
a century) and they never expire.

    python samples/make_samples.py
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

_UPS_VALUES = {c: (ord(c) - ord("A") + 2) % 10 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def ups(body: str) -> str:
    """A 1Z number with a correct check digit; ``body`` is the 15 characters after 1Z."""
    digits = [int(c) if c.isdigit() else _UPS_VALUES[c] for c in body]
    odd, even = sum(digits[0::2]), sum(digits[1::2])
    return f"1Z{body}{(10 - (odd + 2 * even) % 10) % 10}"


def write_text(name: str, rows: list[list[str]], sep: str, encoding: str = "utf-8") -> None:
    text = "\r\n".join(sep.join(_quote(c, sep) for c in row) for row in rows) + "\r\n"
    (HERE / name).write_bytes(text.encode(encoding))


def _quote(cell: str, sep: str) -> str:
    if any(ch in cell for ch in (sep, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def amazon_template() -> None:
    header = [
        "order-id",
        "order-item-id",
        "quantity",
        "ship-date",
        "carrier-code",
        "carrier-name",
        "tracking-number",
        "ship-method",
    ]
    rows = [
        header,
        [
            "112-3456789-0123456",
            "",
            "",
            "2025-11-03",
            "UPS",
            "",
            ups("A9999W0312345678"[:15]),
            "UPS Ground",
        ],
        [
            "113-2345678-9012345",
            "12345678901234",
            "1",
            "2025-11-03",
            "USPS",
            "",
            "9400111899223334445566",
            "Priority Mail",
        ],
        [
            "113-2345678-9012345",
            "23456789012345",
            "2",
            "2025-11-03",
            "USPS",
            "",
            "9400111899223334445566",
            "Priority Mail",
        ],
        [
            "114-9876543-2109876",
            "",
            "",
            "2025-11-04T16:45:00-05:00",
            "FedEx",
            "",
            "612999999999",
            "FedEx Home Delivery",
        ],
        [
            "111-1111111-2222222",
            "",
            "",
            "2025-11-04",
            "Other",
            "Pitney Bowes",
            "4206000092612927005694000012345678",
            "",
        ],
    ]
    write_text("amazon-template.txt", rows, "\t")


def seller_friendly() -> None:
    rows = [
        [
            "Order Number",
            "Order Item ID",
            "Qty",
            "Ship Date",
            "Carrier",
            "Tracking #",
            "Service",
            "Customer",
        ],
        # one order, two items, one box
        [
            "701-1234567-7654321",
            "11111111111111",
            "1",
            "11/03/2025",
            "UPS",
            ups("8F4W21030000123"),
            "Ground",
            "A. Martin",
        ],
        [
            "701-1234567-7654321",
            "22222222222222",
            "3",
            "11/03/2025",
            "UPS",
            ups("8F4W21030000123"),
            "Ground",
            "A. Martin",
        ],
        # one order, two boxes with two carriers
        [
            "702-2345678-8765432",
            "33333333333333",
            "1",
            "11/04/2025",
            "USPS",
            "9205590164917312345671",
            "Ground Advantage",
            "B. Chen",
        ],
        [
            "702-2345678-8765432",
            "44444444444444",
            "1",
            "11/05/2025",
            "FedEx",
            "771234567890",
            "2Day",
            "B. Chen",
        ],
        # whole order, no item ids
        [
            "703-3456789-9876543",
            "",
            "",
            "11/05/2025 14:30",
            "DHL",
            "1234567890",
            "Express",
            "C. O'Neil, Jr.",
        ],
        [
            "704-4567890-1987654",
            "",
            "",
            "11/05/2025",
            "Amazon Shipping",
            "TBA123456789012",
            "",
            "D. Kowalski",
        ],
        [],
    ]
    write_text("seller-friendly.csv", rows, ",")


def with_errors() -> None:
    rows = [
        ["Order ID", "Ship Date", "Carrier", "Tracking Number", "Ship Method", "Note"],
        ["801-1111111-1111111", "2025-11-03", "UPS", ups("1234E1234567890"), "Ground", "fine"],
        ["802-12345", "2025-11-03", "UPS", ups("1234E1234567891"), "Ground", "order id too short"],
        [
            "803-3333333-3333333",
            "2099-01-05",
            "USPS",
            "9400111899223334445566",
            "Priority",
            "future date",
        ],
        ["804-4444444-4444444", "2025-11-03", "Bob's Trucks", "BT-0001", "", "unknown carrier"],
        [
            "805-5555555-5555555",
            "2025-11-03",
            "UPS",
            "1Z999AA10123456780",
            "Ground",
            "UPS check digit",
        ],
        [
            '=HYPERLINK("http://x.example","click")',
            "2025-11-03",
            "UPS",
            ups("1234E1234567892"),
            "Ground",
            "formula",
        ],
        ["806-6666666-6666666", "not a date", "FedEx", "771234567890", "@SUM(1,2)", "bad date"],
        ["807-7777777-7777777", "", "USPS", "9400111899223334445567", "-Ground", "no date"],
    ]
    write_text("with-errors.csv", rows, ",")


def cp1252() -> None:
    rows = [
        ["Order ID", "Ship Date", "Carrier", "Carrier Name", "Tracking Number", "Shipping Method"],
        [
            "901-1234567-1234567",
            "03/11/2025",
            "Other",
            "Société Générale de Transport",
            "SGT-2025-0001",
            "Express – 24h",
        ],
        ["902-1234567-1234567", "04/11/2025", "Other", "Müller Logistik", "ML4711", "Standard"],
        [
            "903-1234567-1234567",
            "04/11/2025",
            "La Poste",
            "",
            "6A12345678901",
            "Colissimo “Domicile”",
        ],
    ]
    write_text("cp1252.csv", rows, ";", "cp1252")


def xlsx() -> None:
    import openpyxl  # test-only dependency: the product reads XLSX, it never writes it

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Shipped"
    ws.append(
        [
            "Amazon Order #",
            "Order Item ID",
            "Quantity Shipped",
            "Date Shipped",
            "Shipping Carrier",
            "Tracking",
            "Shipping Method",
        ]
    )
    ws.append(
        [
            "112-0000001-0000001",
            12345678901234,
            1,
            date(2025, 11, 3),
            "UPS",
            ups("0000E0000000001"),
            "Ground",
        ]
    )
    ws.append(
        [
            "112-0000001-0000001",
            23456789012345,
            2,
            date(2025, 11, 3),
            "UPS",
            ups("0000E0000000001"),
            "Ground",
        ]
    )
    ws.append(
        [
            "112-0000002-0000002",
            None,
            None,
            datetime(2025, 11, 4, 9, 15),
            "USPS",
            "9400111899223334445599",
            "First-Class",
        ]
    )
    ws.append([])
    ws.append(
        ["112-0000003-0000003", None, None, date(2025, 11, 5), "FedEx", 771234567891, "Ground"]
    )
    other = wb.create_sheet("Notes")
    other.append(["Shipped by the warehouse team; sheet 1 is what counts."])
    wb.save(HERE / "shipments.xlsx")


if __name__ == "__main__":
    amazon_template()
    seller_friendly()
    with_errors()
    cp1252()
    xlsx()
