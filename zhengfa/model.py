"""The rows extraction produces and the document context every pass reads."""
from __future__ import annotations

from dataclasses import dataclass, field

from zhengfa import regions
from zhengfa.periods import Period, find_periods, period_before


@dataclass
class Metric:
    kind: str
    value: float
    unit: str
    approx: str
    basis: str | None
    subject: str
    region: str
    period_start: int | None
    period_end: int | None
    quote: str
    sentence: str
    char_start: int
    char_end: int
    section_ord: int | None
    indicator: str | None = None
    in_caption: bool = False
    in_repeated: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class DocContext:
    region: regions.Unit | None  # None: national, or unknown when `national` is False
    report_year: int | None
    publish_year: int | None
    area: set[str]  # county labels of the document's city, for street-level evidence
    national: bool = True
    publish_month: int | None = None
    term_start: int | None = None  # first year of the congress term a work report speaks for

    def periods(self, text: str):
        return find_periods(text, self.report_year, self.publish_year, self.publish_month, self.term_start)

    def period_before(self, text: str, default: Period) -> Period:
        return period_before(text, len(text), self.report_year, self.publish_year, default, self.publish_month,
                             self.term_start)

    @property
    def label(self) -> str:
        """The document's region in the schema's form; '' when the text names no area at all."""
        if self.region is not None:
            return self.region.label
        return regions.NATIONAL if self.national else ""
