"""Word lists and templates the market model draws from, so seeded markets read like real ones."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

UPLOADS = "https://polymarket-upload.s3.us-east-2.amazonaws.com"

_LEAGUES: dict[str, list[tuple[str, str]]] = {
    "NBA": [
        ("Los Angeles Lakers", "lal"),
        ("Boston Celtics", "bos"),
        ("Denver Nuggets", "den"),
        ("Oklahoma City Thunder", "okc"),
        ("New York Knicks", "nyk"),
        ("Golden State Warriors", "gsw"),
        ("Miami Heat", "mia"),
        ("Dallas Mavericks", "dal"),
    ],
    "MLB": [
        ("St. Louis Cardinals", "stl"),
        ("Arizona Diamondbacks", "ari"),
        ("New York Yankees", "nyy"),
        ("Los Angeles Dodgers", "lad"),
        ("Chicago Cubs", "chc"),
        ("Houston Astros", "hou"),
    ],
    "NFL": [
        ("Seahawks", "sea"),
        ("Patriots", "ne"),
        ("Chiefs", "kc"),
        ("Eagles", "phi"),
        ("49ers", "sf"),
        ("Bills", "buf"),
    ],
    "EPL": [
        ("Arsenal", "ars"),
        ("Liverpool", "liv"),
        ("Manchester City", "mci"),
        ("Chelsea", "che"),
        ("Tottenham", "tot"),
        ("Newcastle", "new"),
    ],
}
_CANDIDATES = ["Jane Harper", "Marco Ruiz", "Alicia Chen", "Tom Becker", "Priya Nair", "Sam Okafor"]
_OFFICES = ["Governor of Ohio", "Mayor of Chicago", "Senate seat in Georgia", "presidency of Chile"]
_COINS = [("Bitcoin", "BTC", 60_000, 140_000), ("Ethereum", "ETH", 2_000, 6_000), ("Solana", "SOL", 80, 400)]
_MOVIES = ["Starfall", "The Last Orchard", "Neon Harbor", "Paper Kingdoms"]
_COMPANIES = [
    ("OpenAI", "GPT-6"),
    ("Apple", "a foldable iPhone"),
    ("Tesla", "a robotaxi app"),
    ("Google", "Gemini 4"),
]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_ADJECTIVES = ["Sparse", "Bright", "Quiet", "Rapid", "Humble", "Golden", "Frosty", "Lucky", "Clever", "Bold"]
_NOUNS = ["Cookie", "Falcon", "Harbor", "Meadow", "Otter", "Comet", "Maple", "Ranger", "Pixel", "Tiger"]
_NAMES = [
    "SDTrading",
    "whalewatcher",
    "degen42",
    "polyquant",
    "Theo",
    "kalshi-refugee",
    "mm-bot-7",
    "sharpmoney",
    "gamma_ray",
    "LongShot",
]


@dataclass(frozen=True, slots=True)
class MarketTemplate:
    """The text of one generated market: what the question, outcomes, slugs and tags look like."""

    category: str
    question: str
    description: str
    outcomes: tuple[str, str]
    slug: str
    event_slug: str
    event_title: str
    tags: tuple[str, ...]
    icon: str


def slugify(text: str) -> str:
    """Lower-case, hyphen-separated, like Polymarket slugs."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def make_market_text(rng: random.Random, end_ts: int) -> MarketTemplate:
    """Draw one market's text: a category, then a question in that category's house style."""
    day = dt.datetime.fromtimestamp(end_ts, tz=dt.UTC).date()
    category = rng.choice(
        ["Sports", "Sports", "Politics", "Crypto", "Crypto", "Pop Culture", "Economics", "Tech"]
    )
    if category == "Sports":
        league = rng.choice(sorted(_LEAGUES))
        (home, hc), (away, ac) = rng.sample(_LEAGUES[league], 2)
        question = f"{home} vs. {away}"
        slug = f"{league.lower()}-{hc}-{ac}-{day.isoformat()}"
        return MarketTemplate(
            category,
            question,
            f"This market resolves to the winner of {question} on {day}.",
            (home, away),
            slug,
            slug,
            question,
            ("Sports", league, "Games"),
            f"{UPLOADS}/Repetitive-markets/{league}.jpg",
        )
    if category == "Politics":
        person, office = rng.choice(_CANDIDATES), rng.choice(_OFFICES)
        question = f"Will {person} win the {day.year} {office}?"
        event = f"{office} election {day.year}"
        return MarketTemplate(
            category,
            question,
            f"Resolves Yes if {person} is declared the winner.",
            ("Yes", "No"),
            slugify(question),
            slugify(event),
            event.capitalize(),
            ("Politics", "Elections"),
            f"{UPLOADS}/{slugify(person)}.png",
        )
    if category == "Crypto":
        coin, ticker, low, high = rng.choice(_COINS)
        if rng.random() < 0.5:
            question = f"{coin} Up or Down - {_MONTHS[day.month - 1]} {day.day}"
            outcomes = ("Up", "Down")
        else:
            strike = rng.randrange(low, high, max(1, (high - low) // 20))
            question = f"Will {coin} be above ${strike:,} on {_MONTHS[day.month - 1]} {day.day}?"
            outcomes = ("Yes", "No")
        event = f"{coin} price on {_MONTHS[day.month - 1]} {day.day}"
        return MarketTemplate(
            category,
            question,
            f"Resolves using the {ticker}/USDT Binance close.",
            outcomes,
            slugify(question),
            slugify(event),
            event,
            ("Crypto", coin, "Crypto Prices"),
            f"{UPLOADS}/{ticker}+fullsize.png",
        )
    if category == "Pop Culture":
        movie = rng.choice(_MOVIES)
        gross = rng.choice([50, 75, 100, 150])
        question = f"Will {movie} gross over ${gross}M opening weekend?"
        return MarketTemplate(
            category,
            question,
            "Resolves per Box Office Mojo.",
            ("Yes", "No"),
            slugify(question),
            slugify(f"{movie} opening weekend"),
            f"{movie} opening weekend",
            ("Pop Culture", "Movies"),
            f"{UPLOADS}/{slugify(movie)}.jpg",
        )
    if category == "Economics":
        question = f"Will the Fed cut rates in {_MONTHS[day.month - 1]} {day.year}?"
        event = f"Fed decision in {_MONTHS[day.month - 1]}"
        return MarketTemplate(
            category,
            question,
            "Resolves per the FOMC statement.",
            ("Yes", "No"),
            slugify(question),
            slugify(event),
            event,
            ("Economics", "Fed Rates"),
            f"{UPLOADS}/fed.png",
        )
    company, product = rng.choice(_COMPANIES)
    question = f"Will {company} release {product} by {_MONTHS[day.month - 1]} {day.day}?"
    return MarketTemplate(
        "Tech",
        question,
        f"Resolves Yes on an official {company} release.",
        ("Yes", "No"),
        slugify(question),
        slugify(f"{company} releases"),
        f"{company} releases",
        ("Tech", "AI"),
        f"{UPLOADS}/{slugify(company)}.png",
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """A wallet's public profile fields (many real wallets leave them empty)."""

    name: str
    pseudonym: str
    bio: str
    profile_image: str
    profile_image_optimized: str
    verified: bool


def make_profile(rng: random.Random, index: int) -> Profile:
    """Draw a profile: a pseudonym always, a name/bio/image only sometimes."""
    pseudonym = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}"
    has_name = rng.random() < 0.6
    name = f"{rng.choice(_NAMES)}{index}" if has_name else ""
    bio = rng.choice(["", "", "gg", "full-time degen", "sports only"]) if has_name else ""
    image = f"{UPLOADS}/profile-image-{index}.png" if rng.random() < 0.4 else ""
    return Profile(name, pseudonym, bio, image, "", rng.random() < 0.05)
