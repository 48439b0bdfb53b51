"""Rule loading and matching.

Public interface used by the rest of the service:

- ``load_rules(directory) -> RuleSet``; raises ``RuleLoadError`` listing every
  ``RuleError`` (path, line, col, message).
- ``RuleSet.match(article) -> list[Match]``: pure, no I/O, safe to share between threads.
- ``RuleSet.rules``: ``RuleInfo`` of every rule (id, title, severity, tags, description, path).
- ``RuleSource(directory)``: the current good rule set of a directory, with
  ``refresh()`` to pick up edits and ``errors`` from the last failed reload.

Inside the package, files follow the path of a rule from text to match:
``schema`` describes files (read and located by ``service.yamlfile``),
``terms``, ``inflect``, ``condition`` and ``entities`` parse the language,
``compiler`` builds the ``compiled`` form and ``anchors`` picks each rule's
trigger terms, ``text``, ``document`` and ``scanner`` prepare and search an
article, ``occurrences`` finds each part in it and ``filters`` (the registered
part options and shared guards) narrow them, and ``evaluate`` decides, with the
boolean and window logic only. ``loader`` and ``source`` read directories;
``cli``, ``examples``, ``evaluation``, ``explain``, ``stats`` and ``freshness``
are the tools.
"""

from service.matching.errors import RuleError, RuleLoadError
from service.matching.info import RuleInfo
from service.matching.loader import load_rules
from service.matching.ruleset import RuleSet
from service.matching.source import RuleSource

__all__ = ["RuleError", "RuleInfo", "RuleLoadError", "RuleSet", "RuleSource", "load_rules"]
