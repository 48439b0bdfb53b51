"""``/v1/rules``: the rule library as the service runs it, and a dry run of it on one article."""

from __future__ import annotations

import asyncio

from aiohttp import web

from service.api.framework import ApiError, ApiRoutes, body_of, json_of
from service.api.schemas import ArticleIn, ErrorBody, ExplainIn, RuleList, RuleOut, RuleTestResult
from service.matching import RuleSet
from service.matching.explain import ArticleExplanation, explain
from service.models import Article
from service.rulefiles import MAX_RULE_REQUEST_BYTES, RuleEditError, check_draft, check_rule_id
from service.typedefs import RULES, SETTINGS

routes = ApiRoutes("rules")


@routes.route("GET", "/v1/rules", summary="Every rule in use", responses={200: ("the rules", RuleList)})
async def list_rules(request: web.Request) -> web.Response:
    source = request.app[RULES]
    return json_of(
        RuleList(items=[RuleOut.of(r) for r in source.rules.rules], errors=[str(e) for e in source.errors])
    )


@routes.route(
    "GET",
    "/v1/rules/{id}",
    summary="One rule",
    responses={200: ("the rule", RuleOut), 404: ("no such rule", ErrorBody)},
)
async def get_rule(request: web.Request) -> web.Response:
    source = request.app[RULES]
    info = source.rules.get(request.match_info["id"])
    if info is None:
        raise ApiError(404, f"no rule has the id {request.match_info['id']!r}")
    return json_of(RuleOut.of(info))


@routes.route(
    "POST",
    "/v1/rules/test",
    summary="Run the rules on an article: which match, and the evidence (nothing is stored or sent)",
    body=ArticleIn,
    responses={200: ("the matches", RuleTestResult), 422: ("invalid: see error.fields", ErrorBody)},
)
async def test_rules(request: web.Request) -> web.Response:
    given = await body_of(request, ArticleIn)
    source = request.app[RULES]
    matches = source.rules.match(Article.model_validate(given.model_dump()))
    return json_of(RuleTestResult(matches=matches))


@routes.route(
    "POST",
    "/v1/rules/explain",
    summary="Why each rule did or did not match an article: per route, the sentences, clauses or word "
    "windows tried, each with what decided it (held, the condition missing, or the negated condition "
    "that vetoed it, with its words); occurrences of each part; occurrences a guard vetoed",
    body=ExplainIn,
    responses={
        200: (
            "one explanation per rule: rules[].routes[].windows[] carry scope, field, start, end, text, "
            "held, missing, vetoed_by and veto[]; rules[].guarded[] the guard vetoes",
            ArticleExplanation,
        ),
        404: ("a rule named in 'rules' does not exist", ErrorBody),
        422: ("invalid: see error.fields", ErrorBody),
    },
)
async def explain_rules(request: web.Request) -> web.Response:
    given = await body_of(request, ExplainIn, limit=MAX_RULE_REQUEST_BYTES)
    source = request.app[RULES]
    rules = source.rules
    if given.yaml is not None:
        rules = await _draft_rules(request, given.rules or [], given.yaml)
    for rule in given.rules or []:
        if rules.get(rule) is None:
            raise ApiError(404, f"no rule has the id {rule[:100]!r}")
    article = Article.model_validate(given.model_dump(exclude={"rules", "yaml"}))
    return json_of(explain(rules, article, rule_ids=given.rules))


async def _draft_rules(request: web.Request, rule_ids: list[str], text: str) -> RuleSet:
    """The rules with an unsaved edit of one rule, compiled as the editor's Save would."""
    if len(rule_ids) != 1:
        raise ApiError(
            422, "an edit ('yaml') explains one rule: name it alone in 'rules'", [("rules", "one id")]
        )
    try:
        check_rule_id(rule_ids[0])
        directory = request.app[SETTINGS].rules_dir
        draft = await asyncio.to_thread(check_draft, directory, request.app[RULES].rules, rule_ids[0], text)
    except RuleEditError as exc:
        raise ApiError(exc.status, exc.message) from None
    if draft.problems or draft.rules is None:
        problem = draft.problems[0] if draft.problems else "it does not compile"
        raise ApiError(422, f"the edit does not compile: {problem}", [("yaml", str(problem))])
    return draft.rules
