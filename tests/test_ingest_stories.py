"""Near-duplicate stories: rewrites of one story by several outlets share a story_id; others do not."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from service.consumer import Entry
from service.ingest.minhash import signature, similarity
from service.ingest.sink import ArticleSink
from service.ingest.stories import StoryIndex
from service.keys import Keys
from service.matcher import Matcher
from service.matching import RuleSource
from service.metrics import Metrics
from service.models import Article, stable_id, utcnow
from service.streams import Trim
from tests.conftest import ROOT
from tests.storygen import load_stories, rewrite

TRIM = Trim("maxlen", 10_000)


def sink_for(redis: Redis, prefix: str, window: int = 48 * 3600) -> ArticleSink:
    keys = Keys(prefix)
    return ArticleSink(redis, keys, TRIM, 3600, Metrics(), StoryIndex(redis, keys, window=window))


def article(story: dict[str, Any], outlet: str, seed: int | None = None, **fields: Any) -> Article:
    title, body = (
        (story["title"], story["body"]) if seed is None else rewrite(story["title"], story["body"], seed)
    )
    values: dict[str, Any] = {
        "id": stable_id("test", story["id"], outlet, str(seed)),
        "title": title,
        "body": body,
        "source": outlet,
        "url": f"https://{outlet}.example/{story['id']}",
        "published": utcnow() - timedelta(hours=1),
    }
    values.update(fields)
    return Article(**values)


def test_rewrites_are_similar_and_different_stories_are_not() -> None:
    stories = load_stories()
    sigs = {s["id"]: signature(s["title"], s["body"]) for s in stories}
    for story in stories:
        for seed in range(5):
            copy = signature(*rewrite(story["title"], story["body"], seed))
            assert copy is not None
            assert similarity(sigs[story["id"]] or "", copy) >= 0.3, (story["id"], seed)
    for a, b in itertools.combinations(stories, 2):
        assert similarity(sigs[a["id"]] or "", sigs[b["id"]] or "") < 0.1, (a["id"], b["id"])


async def test_copies_from_other_outlets_join_the_first_story_and_count_as_sources(
    redis: Redis, key_prefix: str
) -> None:
    [summit] = [s for s in load_stories() if s["id"] == "summit"]
    sink = sink_for(redis, key_prefix)

    first = await sink.add(article(summit, "wire"))
    copies = await sink.add_many([article(summit, f"outlet{i}", seed=i) for i in range(3)])

    assert first.story_id == first.article_id
    assert [c.story_id for c in copies] == [first.story_id] * 3
    assert [c.story_sources for c in copies] == [2, 3, 4]
    assert await redis.xlen(Keys(key_prefix).articles) == 4  # each copy is still an article


async def test_different_stories_on_one_topic_stay_apart(redis: Redis, key_prefix: str) -> None:
    sink = sink_for(redis, key_prefix)

    results = await sink.add_many([article(s, "wire") for s in load_stories()])

    assert len({r.story_id for r in results}) == len(results)


async def test_a_copy_published_outside_the_window_starts_a_new_story(redis: Redis, key_prefix: str) -> None:
    [floods] = [s for s in load_stories() if s["id"] == "floods"]
    sink = sink_for(redis, key_prefix, window=3600)
    old = await sink.add(article(floods, "wire", published=utcnow() - timedelta(hours=5)))

    late = await sink.add(article(floods, "late", seed=1))

    assert late.story_id != old.story_id


async def test_the_same_article_again_adds_no_source(redis: Redis, key_prefix: str) -> None:
    [drones] = [s for s in load_stories() if s["id"] == "drones"]
    sink = sink_for(redis, key_prefix)
    first = await sink.add(article(drones, "wire"))
    await sink.add(article(drones, "outlet", seed=3))

    again = await sink.add(article(drones, "outlet", seed=3))

    assert again.duplicate
    assert first.story_id is not None
    assert await StoryIndex(redis, Keys(key_prefix)).sources(first.story_id) == {"wire", "outlet"}


async def test_an_alert_fires_once_for_a_story_however_many_outlets_carry_it(
    redis: Redis, key_prefix: str
) -> None:
    [summit] = [s for s in load_stories() if s["id"] == "summit"]
    sink = sink_for(redis, key_prefix)
    keys = Keys(key_prefix)
    matcher = Matcher(redis, keys, RuleSource(ROOT / "rules"), TRIM, 3600, Metrics())
    await sink.add_many([article(summit, "wire"), *(article(summit, f"o{i}", seed=i) for i in range(3))])

    for entry_id, fields in await redis.xrange(keys.articles):
        await matcher.handle(Entry(entry_id, fields))

    alerts = await redis.xrange(keys.alerts)
    assert [f["rule"] for _, f in alerts] == ["leader_summit"]


async def test_the_stream_entry_carries_the_story_and_the_text_exactly_as_written(
    redis: Redis, key_prefix: str
) -> None:
    [summit] = [s for s in load_stories() if s["id"] == "summit"]
    sink = sink_for(redis, key_prefix)
    # Text that looks like the entry's own JSON, quotes, backslashes and non-ASCII must not confuse
    # where the story is written.
    tricky = {**summit, "title": 'Summit: "story_id":null \\"story_id\\":null «ünïcödé» 東京'}
    original = article(tricky, "wire")
    first = await sink.add(original)
    copy = await sink.add(article(tricky, "outlet", seed=1))

    entries = [
        Article.model_validate_json(f["data"]) for _, f in await redis.xrange(Keys(key_prefix).articles)
    ]
    assert (
        [e.story_id for e in entries] == [first.story_id, first.story_id] == [first.article_id, copy.story_id]
    )
    assert entries[0].title == tricky["title"]
    assert entries[0] == original.model_copy(update={"story_id": first.story_id})


async def test_a_duplicate_within_one_batch_is_reported_and_indexes_nothing(
    redis: Redis, key_prefix: str
) -> None:
    [drones] = [s for s in load_stories() if s["id"] == "drones"]
    sink = sink_for(redis, key_prefix)
    original = article(drones, "wire")
    same_url = article(drones, "outlet", seed=2, url=original.url)

    results = await sink.add_many([original, same_url])

    assert [r.duplicate for r in results] == [False, True]
    assert (results[1].duplicate_of, results[1].duplicate_by) == (original.id, "url")
    assert await StoryIndex(redis, Keys(key_prefix)).sources(original.id) == {"wire"}
    assert await redis.xlen(Keys(key_prefix).articles) == 1


async def test_entries_older_than_the_window_are_trimmed_from_the_bands_they_share(
    redis: Redis, key_prefix: str
) -> None:
    [floods] = [s for s in load_stories() if s["id"] == "floods"]
    sink = sink_for(redis, key_prefix, window=3600)
    old = article(floods, "wire", published=utcnow() - timedelta(hours=5))
    # One article in TRIM_EVERY trims the bands it is added to, chosen by its id: take one that does.
    trimming = next(
        a for n in range(1000) if StoryIndex.trim((a := article(floods, f"outlet{n}", seed=1)).id)
    )
    await sink.add(old)
    bands = [k async for k in redis.scan_iter(match=f"{Keys(key_prefix).story_band_prefix}*")]
    assert bands

    await sink.add(trimming)

    members = {k: set(await redis.zrange(k, 0, -1)) for k in bands}
    shared = [k for k, m in members.items() if any(x.endswith(f"|{trimming.id}") for x in m)]
    assert shared  # the copy shares bands with the old article...
    assert not any(x.endswith(f"|{old.id}") for k in shared for x in members[k])  # ...which it trimmed
    assert any(x.endswith(f"|{old.id}") for k in bands if k not in shared for x in members[k])


async def test_boilerplate_shared_with_many_articles_neither_joins_them_nor_hides_a_real_copy(
    redis: Redis, key_prefix: str
) -> None:
    [drones] = [s for s in load_stories() if s["id"] == "drones"]
    sink = sink_for(redis, key_prefix)
    boilerplate = " Sign up for our newsletter to get the day's top stories in your inbox every morning."
    words = [w for s in load_stories() for w in s["body"].split()]
    rng = random.Random(5)
    others = [
        article(
            {
                "id": f"other{n}",
                "title": f"Report {n}",
                "body": " ".join(rng.sample(words, 60)) + boilerplate,
            },
            "o",
        )
        for n in range(100)
    ]
    joined = await sink.add_many(others)
    original = await sink.add(article({**drones, "body": drones["body"] + boilerplate}, "wire"))

    copy = await sink.add(article({**drones, "body": drones["body"] + boilerplate}, "outlet", seed=2))

    assert len({r.story_id for r in joined}) == len(others)
    assert copy.story_id == original.story_id


async def test_a_signature_stored_before_the_verification_bins_still_takes_its_rewrites(
    redis: Redis, key_prefix: str
) -> None:
    from service.ingest.minhash import BINS

    sink = sink_for(redis, key_prefix)
    story = load_stories()[0]
    original = article(story, "wire")
    full = signature(original.title, original.body)
    assert full is not None
    # As written by the version whose signatures had the lookup bins only.
    first = await sink.add(original, full[: 4 * BINS])

    copy = await sink.add(article(story, "outlet", seed=1))

    assert copy.story_id == first.story_id == original.id
