"""The web console, served by the api role at ``/``.

Pages are rendered from Jinja2 templates and filled by small scripts that
call the ``/v1`` API, the same one every other client uses. Nothing from an
article or a feed is ever inserted as HTML: the scripts build text nodes.
Scripts, styles and the vendored editor (CodeMirror 5, MIT) are files under
``static/``, so the page works offline under a strict Content-Security-Policy.
"""

from service.console.pages import setup_console

__all__ = ["setup_console"]
