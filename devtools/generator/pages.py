"""What the synthetic sites consist of: pages with their hot spots, referrers, script
errors and custom events. Precomputed once so the hot loop only picks from tuples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

# --- pages ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A clickable element that draws many clicks.

    For document elements x is a share of the viewport width and y a document
    coordinate per layout. For fixed elements y is measured from the viewport top,
    or from its bottom when negative.
    """

    selector: str
    x_share: float
    y_desktop: int
    y_mobile: int
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One kind of page: its path variants, document height and hot spots."""

    paths: tuple[str, ...]
    height_desktop: int
    hotspots: tuple[Hotspot, ...]
    weight: float
    order_path: bool = False  # path ends in a long order number drawn per visit

    @property
    def height_mobile(self) -> int:
        # Columns stack on narrow screens, so documents get about twice as long.
        return int(self.height_desktop * 2.2)


_STICKY_MENU: Final = Hotspot("header.sticky button.menu-toggle", 0.04, 32, 28, fixed=True)
_STICKY_CART: Final = Hotspot("header.sticky a.cart-icon", 0.94, 32, 28, fixed=True)
_CHAT: Final = Hotspot("#chat-launcher", 0.95, -48, -44, fixed=True)
_COOKIES: Final = Hotspot("#cookie-banner button.accept", 0.5, -64, -90, fixed=True)

_SHOP_PAGES: Final = (
    Page(
        ("/",),
        4200,
        (
            Hotspot("a.hero-cta", 0.5, 520, 610),
            Hotspot("nav a[href='/category/sale']", 0.32, 96, 180),
            Hotspot("div.product-card:nth-child(1) img", 0.2, 1180, 1500),
            _STICKY_CART,
            _COOKIES,
        ),
        30,
    ),
    Page(
        tuple(
            f"/products/{slug}"
            for slug in ("shoes", "running-shoes-x2", "trail-boots", "wool-socks", "rain-jacket")
        ),
        3600,
        (
            Hotspot("button.add-to-cart", 0.72, 640, 1180),
            Hotspot("div.gallery img.main", 0.3, 480, 420),
            Hotspot("select#size", 0.72, 560, 1060),
            Hotspot("a[href='#reviews']", 0.62, 700, 1320),
            _STICKY_CART,
            _CHAT,
        ),
        40,
    ),
    Page(
        ("/category/men", "/category/women", "/category/sale"),
        5200,
        (
            Hotspot("div.product-card:nth-child(2) a", 0.45, 860, 1400),
            Hotspot("button.filter-toggle", 0.12, 300, 260),
            _STICKY_MENU,
        ),
        20,
    ),
    Page(
        ("/cart",),
        1400,
        (Hotspot("button#checkout", 0.8, 900, 1500), Hotspot("button.remove-item", 0.9, 420, 600)),
        10,
    ),
    Page(
        ("/checkout",),
        2200,
        (Hotspot("button#place-order", 0.5, 1700, 3900), Hotspot("input#email", 0.5, 380, 520)),
        6,
    ),
    Page(("/orders/",), 1800, (Hotspot("a.track-parcel", 0.7, 500, 760),), 4, order_path=True),
)

_BLOG_PAGES: Final = (
    Page(
        ("/",),
        6000,
        (Hotspot("article:nth-of-type(1) h2 a", 0.4, 380, 420), _STICKY_MENU, _COOKIES),
        25,
    ),
    Page(
        tuple(
            f"/blog/2026/11/{slug}"
            for slug in (
                "privacy-first-analytics",
                "why-we-dropped-cookies",
                "heatmaps-without-tracking",
                "some-post",
                "clickhouse-at-small-scale",
            )
        ),
        7800,
        (
            Hotspot("button.share-twitter", 0.08, 900, 1600),
            Hotspot("a.subscribe", 0.5, 7200, 16400),
            Hotspot("pre code", 0.5, 2600, 5400),
            _STICKY_MENU,
        ),
        55,
    ),
    Page(
        ("/tags/privacy", "/tags/engineering"), 3000, (Hotspot("ul.posts li a", 0.3, 400, 500),), 8
    ),
    Page(
        ("/about", "/newsletter"), 2000, (Hotspot("form button[type=submit]", 0.5, 900, 1500),), 8
    ),
)

_DOCS_PAGES: Final = (
    Page(("/",), 3000, (Hotspot("a.btn-primary", 0.45, 460, 560), _STICKY_MENU), 15),
    Page(
        (
            "/docs/getting-started",
            "/docs/installation",
            "/docs/api/events",
            "/docs/guides/heatmaps",
            "/docs/faq",
        ),
        5400,
        (
            Hotspot("button.copy-code", 0.88, 820, 1700),
            Hotspot("nav.sidebar a.active + li a", 0.1, 260, 300),
            Hotspot("a.next-page", 0.8, 5200, 11600),
            _CHAT,
        ),
        60,
    ),
    Page(("/pricing",), 2600, (Hotspot("button.plan-pro", 0.5, 780, 1900), _COOKIES), 15),
    Page(("/changelog",), 9000, (Hotspot("a.release-link", 0.3, 320, 400),), 10),
)

SITE_PROFILES: Final[tuple[tuple[Page, ...], ...]] = (_SHOP_PAGES, _BLOG_PAGES, _DOCS_PAGES)

QUERY_STRINGS: Final = (
    "?utm_source=newsletter&utm_medium=email&utm_campaign=black_friday",
    "?utm_source=google&utm_medium=cpc&utm_term=running+shoes",
    "?utm_source=twitter&utm_medium=social",
    "?ref=producthunt",
    "?q=heatmap+setup&page=2",
    "?page=3&sort=price_asc",
)
FRAGMENTS: Final = ("#reviews", "#installation", "#comments", "#pricing-table", "#faq")

EXTERNAL_REFERRERS: Final = (
    "https://www.google.com/",
    "https://www.google.com/search?q=privacy+friendly+analytics",
    "https://www.bing.com/search?q=insightlite+docs&form=QBLH",
    "https://duckduckgo.com/",
    "https://t.co/Ab12Cd34Ef",
    "https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example.com%2F&h=AT0x",
    "https://www.reddit.com/r/webdev/comments/1gx2k3p/privacy_analytics/",
    "https://news.ycombinator.com/item?id=42123456",
    "https://www.linkedin.com/",
    "android-app://com.google.android.gm/",
)

# --- script errors ---------------------------------------------------------------
# (message, source, line, col, stack); "{origin}" is replaced by the site's origin.

_MAIN: Final = "{origin}/static/js/main.4f3a2b1c.js"
_VENDOR: Final = "{origin}/static/js/vendor.91bd0e2a.js"
_CHUNK: Final = "{origin}/static/js/42.8c1d9e07.chunk.js"

ERROR_TEMPLATES: Final[tuple[tuple[str, str, int, int, str], ...]] = (
    (
        "TypeError: Cannot read properties of undefined (reading 'id')",
        _MAIN,
        1,
        10423,
        "TypeError: Cannot read properties of undefined (reading 'id')\n"
        f"    at renderCart ({_MAIN}:1:10423)\n"
        f"    at commitHookEffectListMount ({_VENDOR}:2:88112)\n"
        f"    at flushPassiveEffects ({_VENDOR}:2:121907)",
    ),
    (
        "ReferenceError: gtag is not defined",
        "{origin}/",
        42,
        5,
        "ReferenceError: gtag is not defined\n    at {origin}/:42:5",
    ),
    (
        "ChunkLoadError: Loading chunk 42 failed.",
        "{origin}/static/js/runtime.3e1f0a.js",
        1,
        3312,
        f"ChunkLoadError: Loading chunk 42 failed.\n(error: {_CHUNK})\n"
        "    at __webpack_require__.f.j ({origin}/static/js/runtime.3e1f0a.js:1:3312)",
    ),
    ("SyntaxError: Unexpected token '<'", _CHUNK, 1, 1, "SyntaxError: Unexpected token '<'"),
    (
        "TypeError: NetworkError when attempting to fetch resource.",
        _MAIN,
        1,
        20981,
        f"fetchCart@{_MAIN}:1:20981\nasync*loadPage@{_MAIN}:1:18820",
    ),
    ("Script error.", "", 0, 0, ""),
    (
        "ResizeObserver loop completed with undelivered notifications.",
        "{origin}/",
        0,
        0,
        "",
    ),
    (
        "TypeError: Failed to fetch",
        _MAIN,
        1,
        20981,
        f"TypeError: Failed to fetch\n    at fetchCart ({_MAIN}:1:20981)",
    ),
)

# --- custom events ---------------------------------------------------------------

CUSTOM_EVENTS: Final[tuple[tuple[tuple[str, dict[str, Any]], ...], ...]] = (
    (
        ("add_to_cart", {"sku": "SHOE-4821", "price": 89.9, "currency": "USD", "qty": 1}),
        ("add_to_cart", {"sku": "SOCK-0032", "price": 12, "currency": "EUR", "qty": 3}),
        ("begin_checkout", {"items": 2, "value": 101.9}),
        ("purchase", {"order_value": 129.5, "items": 3, "currency": "EUR", "coupon": None}),
        ("signup", {"plan": "pro", "price": 29}),
    ),
    (
        ("newsletter_subscribe", {"list": "weekly"}),
        ("share", {"network": "twitter"}),
        ("video_play", {"video": "intro", "position_s": 0, "muted": True}),
        ("signup", {"plan": "free", "price": 0}),
    ),
    (
        ("search", {"query": "heatmap", "results": 12}),
        ("copy_code", {"lang": "python", "block": 3}),
        ("signup", {"plan": "pro", "price": 29}),
        ("download", {"file": "insightlite-0.1.0.tar.gz", "tags": ["release", "sdist"]}),
    ),
)
