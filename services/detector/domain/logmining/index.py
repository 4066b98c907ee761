"""Candidate lookup: the live templates of one token count, indexed so a key finds its fits without a scan."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from services.detector.domain.logmining.matching import Pattern, Template
from services.detector.domain.logmining.tokens import Key

_Group = tuple[Callable[[Key], object], dict[object, list[Template]]]


class Bucket:
    """Live templates with the same number of tokens.

    Templates are grouped by the positions a key must equal and, within a group, by their words at those
    positions.  A key's candidates then cost one dict lookup per group, however many templates there
    are; only templates with a slot inside a token (``node-<*>``) get a further check.
    """

    __slots__ = ("_groups", "templates")

    def __init__(self) -> None:
        self.templates: dict[str, Template] = {}  # by id, oldest first
        self._groups: dict[tuple[int, ...], _Group] = {}

    def __iter__(self) -> Iterator[Template]:
        return iter(self.templates.values())

    def add(self, template: Template) -> None:
        """Index a new template (it goes last in age order)."""
        self.templates[template.template_id] = template
        self._index(template)

    def remove(self, template: Template) -> None:
        """Forget a template."""
        del self.templates[template.template_id]
        self._unindex(template)

    def generalise(self, template: Template, pattern: Pattern) -> None:
        """Give `template` a more general pattern; it keeps its place in age order."""
        self._unindex(template)
        template.generalise_to(pattern)
        self._index(template)

    def candidates(self, key: Key) -> list[Template]:
        """Return every template that `key` fits, in no particular order."""
        found: list[Template] = []
        for project, by_words in self._groups.values():
            members = by_words.get(project(key))
            if members is not None:
                found += [t for t in members if not t.pattern.partial or t.pattern.fits_partial(key)]
        return found

    def covered_by(self, pattern: Pattern, max_count: float = math.inf) -> list[Template]:
        """Return the templates, oldest first, seen at most `max_count` times whose tokens fit `pattern`."""
        project, projection = pattern.project, pattern.projection
        return [
            t
            for t in self.templates.values()
            if t.count <= max_count
            and project(t.tokens) == projection
            and (not pattern.partial or pattern.fits_partial(t.tokens))
        ]

    def _index(self, template: Template) -> None:
        pattern = template.pattern
        group = self._groups.get(pattern.exact)
        if group is None:
            group = self._groups[pattern.exact] = (pattern.project, {})
        group[1].setdefault(pattern.projection, []).append(template)

    def _unindex(self, template: Template) -> None:
        pattern = template.pattern
        by_words = self._groups[pattern.exact][1]
        members = by_words[pattern.projection]
        members.remove(template)
        if not members:
            del by_words[pattern.projection]
            if not by_words:
                del self._groups[pattern.exact]
