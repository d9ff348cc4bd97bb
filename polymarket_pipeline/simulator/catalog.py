"""Word lists and templates the market model draws from, so seeded markets read like real ones.

Three kinds of text: a standalone binary market (``make_market_text``), a multi-outcome (neg-risk)
event whose members are Yes/No markets (``make_event_text``), and a 2022-23 legacy market
(``make_legacy_text``), the only kind whose Gamma row still carries a ``category``.
"""

from __future__ import annotations

import datetime as dt
import itertools
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

    theme: str
    """The subject (Sports, Politics, ...): drives tags and text, not served as Gamma ``category``."""
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


_EVENT_KINDS = ("league", "election", "crypto")
_LEGACY = [
    ("Crypto", "Will Bitcoin close {year} above ${strike:,}?", "bitcoin", ("Crypto", "Bitcoin")),
    (
        "US-current-affairs",
        "Will the US Senate pass the {bill} by {month} {year}?",
        "senate",
        ("Politics", "US Politics"),
    ),
    ("Sports", "Will the {team} win the {year} championship?", "sports", ("Sports",)),
    (
        "Coronavirus",
        "Will the US report over {cases:,} COVID-19 cases on {month} 1, {year}?",
        "covid",
        ("Coronavirus", "Health"),
    ),
]
_BILLS = ["Infrastructure Act", "Inflation Reduction Act", "CHIPS Act", "Respect for Marriage Act"]


@dataclass(frozen=True, slots=True)
class EventMember:
    """One Yes/No market of a multi-outcome event."""

    question: str
    group_item_title: str
    slug: str


@dataclass(frozen=True, slots=True)
class EventTemplate:
    """A multi-outcome (neg-risk) event: one title, several mutually exclusive Yes/No markets."""

    theme: str
    title: str
    slug: str
    description: str
    tags: tuple[str, ...]
    icon: str
    members: tuple[EventMember, ...]


def make_event_text(rng: random.Random, end_ts: int, n: int) -> EventTemplate:
    """Draw a multi-outcome event with ``n`` members (a league winner, an election, a price range)."""
    day = dt.datetime.fromtimestamp(end_ts, tz=dt.UTC).date()
    kind = rng.choice(_EVENT_KINDS)
    if kind == "league":
        league = rng.choice(sorted(_LEAGUES))
        teams = rng.sample(_LEAGUES[league], min(n, len(_LEAGUES[league])))
        title = f"{day.year} {league} Champion"
        members = tuple(
            EventMember(
                f"Will the {team} win the {day.year} {league} title?",
                team,
                slugify(f"will-the-{team}-win-the-{day.year}-{league}-title"),
            )
            for team, _ in teams
        )
        theme, tags, icon = "Sports", ("Sports", league, "Futures"), f"{UPLOADS}/{league}-champion.png"
    elif kind == "election":
        office = rng.choice(_OFFICES)
        people = rng.sample(_CANDIDATES, min(n, len(_CANDIDATES)))
        title = f"{office} Election Winner {day.year}"
        members = tuple(
            EventMember(
                f"Will {p} win the {day.year} {office}?", p, slugify(f"will-{p}-win-{office}-{day.year}")
            )
            for p in people
        )
        theme, tags, icon = "Politics", ("Politics", "Elections", "World"), f"{UPLOADS}/{slugify(office)}.png"
    else:
        coin, ticker, low, high = rng.choice(_COINS)
        step = max(1, (high - low) // (n + 1))
        bounds = [low + step * i for i in range(n + 1)]
        when = f"{_MONTHS[day.month - 1]} {day.day}"
        title = f"{coin} price on {when}?"
        members = tuple(
            EventMember(
                f"Will the price of {coin} be between ${a:,} and ${b:,} on {when}?",
                f"${a:,}-{b:,}",
                slugify(f"{ticker}-price-{a}-{b}-{when}"),
            )
            for a, b in itertools.pairwise(bounds)
        )
        theme, tags, icon = "Crypto", ("Crypto", coin, "Crypto Prices"), f"{UPLOADS}/{ticker}+fullsize.png"
    return EventTemplate(
        theme,
        title,
        slugify(title),
        f"This is a multi-outcome market on: {title} Exactly one market resolves Yes.",
        tags,
        icon,
        members,
    )


def make_legacy_text(rng: random.Random, end_ts: int) -> tuple[MarketTemplate, str]:
    """A 2022-23 style market and its category (legacy Gamma rows still carry one)."""
    day = dt.datetime.fromtimestamp(end_ts, tz=dt.UTC).date()
    category, pattern, icon, tags = rng.choice(_LEGACY)
    question = pattern.format(
        year=day.year,
        strike=rng.choice([20_000, 30_000, 50_000]),
        bill=rng.choice(_BILLS),
        month=_MONTHS[day.month - 1],
        team=rng.choice(_LEAGUES[rng.choice(sorted(_LEAGUES))])[0],
        cases=rng.choice([50_000, 100_000, 250_000]),
    )
    slug = slugify(question)
    text = MarketTemplate(
        category,
        question,
        f"This market resolves to Yes if: {question}",
        ("Yes", "No"),
        slug,
        slug,
        question,
        tags,
        f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{icon}.png",
    )
    return text, category
