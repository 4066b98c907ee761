"""What the template miner hands out and takes in: its settings, matches and template summaries."""

from __future__ import annotations

from dataclasses import dataclass

from services.detector.domain.logmining.tokens import extract_params


class Match:
    """The template a message belongs to and the values that fill its `<*>` slots (read-only).

    `params` is worked out on first access: most callers only need the id and the template.
    """

    __slots__ = ("_line", "_params", "template", "template_id")

    def __init__(self, template_id: str, template: str, line: str) -> None:
        self.template_id = template_id
        self.template = template
        self._line = line
        self._params: tuple[str, ...] | None = None

    @property
    def params(self) -> tuple[str, ...]:
        """Return the values of the message's first line that fill the template's slots, in order."""
        if self._params is None:
            self._params = extract_params(self.template, self._line)
        return self._params

    def __repr__(self) -> str:
        return f"Match(template_id={self.template_id!r}, template={self.template!r}, params={self.params!r})"


@dataclass(frozen=True, slots=True)
class TemplateSummary:
    """A live template: its id, text and how many messages it matched."""

    template_id: str
    template: str
    count: int


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """Limits and the merge rule of the miner; the defaults are meant for any log source."""

    max_templates: int = 5_000
    max_cached_lines: int = 20_000
    max_aliases: int = 50_000
    max_generalisations: int = 20_000
    min_distinct_values: int = 5
    max_mean_repeats: float = 3.0
