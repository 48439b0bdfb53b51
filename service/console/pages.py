"""The console's pages, login and logout, static files and the headers every answer carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from service.console.auth import (
    SESSION_KEY,
    csrf_token,
    end_session,
    session_key,
    session_of,
    set_session_cookie,
    start_session,
    token_matches,
)
from service.rulefiles import RULE_ID, rules_writable
from service.typedefs import RULES, SETTINGS

HERE = Path(__file__).parent
STATIC = HERE / "static"

TEMPLATES = web.AppKey("console_templates", jinja2.Environment)

# No inline script or style anywhere: everything the page runs is a file of ours.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

PAGES = {
    "/": ("alerts", "Alerts"),
    "/rules": ("rules", "Rules"),
    "/subscriptions": ("subscriptions", "Subscriptions"),
    "/feeds": ("feeds", "Feeds"),
    "/health": ("health", "Health"),
}


# Every route the console adds: pages, not API operations, so the OpenAPI document leaves them out.
RULE_EDITOR = "/rules/{id}"
CONSOLE_PATHS = frozenset([*PAGES, RULE_EDITOR, "/login", "/logout"])


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _token_mode(request: web.Request) -> bool:
    return request.app[SETTINGS].api_token is not None


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            nav=[(path, title) for path, (_, title) in PAGES.items()],
            path=request.path,
            token_mode=_token_mode(request),
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def page(request: web.Request) -> web.StreamResponse:
    name, title = PAGES[request.path]
    return await _page(request, name, title)


async def rule_editor(request: web.Request) -> web.StreamResponse:
    """The editor of one rule; a new rule when no rule has the id (the file is named by it)."""
    rule_id = request.match_info["id"]
    if not RULE_ID.fullmatch(rule_id):
        raise web.HTTPNotFound(text="a rule id is a lowercase letter, then a-z, 0-9 or _")
    is_new = request.app[RULES].rules.get(rule_id) is None
    return await _page(
        request, "editor", "New rule" if is_new else f"Rule {rule_id}", rule_id=rule_id, is_new=is_new
    )


async def _page(request: web.Request, name: str, title: str, **extra: Any) -> web.StreamResponse:
    session = await session_of(request)
    if session is None and _token_mode(request):
        raise web.HTTPSeeOther("/login")
    context: dict[str, Any] = {"page": name, "title": title, **extra}
    if name in ("rules", "editor"):
        settings = request.app[SETTINGS]
        writable, reason = rules_writable(settings.rules_dir, read_only=settings.rules_read_only)
        context.update(rules_writable=writable, read_only_reason=reason)
    fresh = session is None  # no token: loopback only (checked already), and a session comes by itself
    if session is None:
        session = await start_session(request)
    response = render(request, f"{name}.html.j2", csrf=csrf_token(request, session), **context)
    if fresh:
        set_session_cookie(request, response, session)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if not _token_mode(request):
        raise web.HTTPSeeOther("/")
    return render(request, "login.html.j2", page="login", title="Sign in", csrf="", error="")


async def login(request: web.Request) -> web.StreamResponse:
    if not _token_mode(request):
        raise web.HTTPSeeOther("/")
    form = await request.post()
    given = form.get("token", "")
    if not isinstance(given, str) or not given or not token_matches(request, given):
        return render(
            request,
            "login.html.j2",
            status=401,
            page="login",
            title="Sign in",
            csrf="",
            error="That is not the API token.",
        )
    response = web.HTTPSeeOther("/")
    set_session_cookie(request, response, await start_session(request))
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    # The auth middleware has checked the CSRF field of this form already.
    response = web.HTTPSeeOther("/login" if _token_mode(request) else "/")
    await end_session(request, response)
    raise response


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")


def setup_console(app: web.Application) -> None:
    app[TEMPLATES] = _environment()
    app[SESSION_KEY] = session_key(app[SETTINGS])
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get(RULE_EDITOR, rule_editor)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.on_response_prepare.append(_security_headers)
