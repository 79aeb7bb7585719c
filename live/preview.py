"""What a shared link to a space unfolds into: Open Graph and Twitter card tags, oEmbed, and
the text the card image shows. All of it from the space as the API describes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from live.api import SpaceOut
from stoa.catalog import SpaceState

SITE_NAME = "Stoa"
CARD_WIDTH = 1200
CARD_HEIGHT = 630


@dataclass(frozen=True)
class Preview:
    title: str
    people: str
    status: str
    url: str
    image_url: str
    embed_url: str

    @property
    def description(self) -> str:
        return f"{self.people} · {self.status}"

    def meta(self) -> list[tuple[str, str, str]]:
        """(attribute, name, content) of each meta tag; the template escapes the content."""
        return [
            ("property", "og:type", "website"),
            ("property", "og:site_name", SITE_NAME),
            ("property", "og:title", self.title),
            ("property", "og:description", self.description),
            ("property", "og:url", self.url),
            ("property", "og:image", self.image_url),
            ("property", "og:image:width", str(CARD_WIDTH)),
            ("property", "og:image:height", str(CARD_HEIGHT)),
            ("property", "og:image:alt", f"{self.title}: {self.description}"),
            ("name", "twitter:card", "summary_large_image"),
            ("name", "twitter:title", self.title),
            ("name", "twitter:description", self.description),
            ("name", "twitter:image", self.image_url),
            ("name", "description", self.description),
        ]

    def oembed(self) -> dict[str, object]:
        """An oEmbed 1.0 "rich" response embedding the card page."""
        return {
            "version": "1.0",
            "type": "rich",
            "provider_name": SITE_NAME,
            "title": self.title,
            "author_name": self.people,
            "thumbnail_url": self.image_url,
            "thumbnail_width": CARD_WIDTH,
            "thumbnail_height": CARD_HEIGHT,
            "width": 560,
            "height": 200,
            # The URL is ours and made of a server id; quoting keeps it an attribute value.
            "html": (
                f'<iframe src="{_attr(self.embed_url)}" width="560" height="200" '
                f'style="border:0" title="{_attr(self.title)}" loading="lazy"></iframe>'
            ),
        }


def preview(space: SpaceOut, base_url: str) -> Preview:
    base = base_url.rstrip("/")
    page = f"{base}/spaces/{space.id}"
    return Preview(
        title=space.title,
        people=people_line(space),
        status=status_line(space),
        url=page,
        image_url=f"{page}/card.png",
        embed_url=f"{page}/card",
    )


def people_line(space: SpaceOut) -> str:
    host = space.host.name if space.host else "someone"
    others = [p.name for p in space.speakers if not space.host or p.id != space.host.id]
    if not others:
        return f"Hosted by {host}"
    shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return f"Hosted by {host}, with {shown}"


def status_line(space: SpaceOut) -> str:
    if space.state is SpaceState.LIVE:
        n = space.listener_count
        return f"Live now · {n} listener{'' if n == 1 else 's'}"
    if space.state is SpaceState.SCHEDULED:
        when = space.scheduled_for.strftime("%a %d %b %Y, %H:%M UTC") if space.scheduled_for else ""
        return f"Scheduled · {when}".rstrip(" ·")
    duration = _duration(space.started_at, space.ended_at)
    recorded = " · Recorded" if space.record else ""
    return f"Ended · {duration}{recorded}" if duration else f"Ended{recorded}"


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max(0, round((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
