"""One article shape for every entry point: POST /v1/articles, POST /v1/rules/test, `geoalert match`
and the labelled sets of `geoalert rules eval` take the same object, with the same names."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from service.matching import load_rules
from service.matching.cli import match_lines
from service.matching.evaluation import load_dataset
from tests.apikit import Api
from tests.conftest import ROOT

ARTICLE = {
    "title": "Kim Jong Un meets Putin in Vladivostok",
    "body": "Russian President Vladimir Putin and North Korean leader Kim Jong Un met in Vladivostok on Wednesday.",
    "url": "https://news.example/kim-putin",
    "source": "Example Wire",
    "published": "2026-12-01T09:00:00Z",
    "language": "en",
}


@pytest.mark.parametrize("id_key", ["id", "guid"])
async def test_the_same_article_is_accepted_everywhere_with_id_or_guid(
    api: Api, tmp_path: Path, id_key: str
) -> None:
    article = {id_key: "wire-1", **ARTICLE}

    status, pushed = await api.call("POST", "/v1/articles", article)
    assert status == 202, pushed
    status, tried = await api.call("POST", "/v1/rules/test", article)
    assert status == 200, tried
    assert "leader_summit" in {m["rule"] for m in tried["matches"]}

    out, err = io.StringIO(), io.StringIO()
    assert match_lines(load_rules(ROOT / "rules"), [json.dumps(article)], out, err) == 0, err.getvalue()
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["id"] == "wire-1"
    assert "leader_summit" in {m["rule"] for m in line["matches"]}

    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump([{**article, "labels": ["leader_summit"]}]))
    (labelled,) = load_dataset(path)
    assert labelled.id == "wire-1"
    assert labelled.article().source == "Example Wire"


async def test_a_push_needs_no_source_and_match_needs_no_title(api: Api) -> None:
    status, pushed = await api.call("POST", "/v1/articles", {"id": "bare-1", "body": ARTICLE["body"]})
    assert status == 202, pushed
    out, err = io.StringIO(), io.StringIO()
    line = json.dumps({"id": "bare-2", "summary": ARTICLE["body"]})
    assert match_lines(load_rules(ROOT / "rules"), [line], out, err) == 0, err.getvalue()
    status, _ = await api.call("POST", "/v1/articles", {"id": "x", "guid": "y", "body": "b"})
    assert status == 422  # one id, not two


def test_the_readme_documents_the_article_shape_and_its_jsonl() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Articles") :]
    for name in (
        "`id`",
        "`guid`",
        "`title`",
        "`summary`",
        "`body`",
        "`url`",
        "`source`",
        "`published`",
        "`language`",
    ):
        assert name in section, name
    assert "geoalert match" in section
    for line in (ROOT / "seeds/articles.jsonl").read_text().splitlines():
        assert set(json.loads(line)) <= {
            "id",
            "title",
            "summary",
            "body",
            "url",
            "source",
            "published",
            "language",
        }
