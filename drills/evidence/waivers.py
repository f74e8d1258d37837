"""Waivers: a known, owned, time-boxed exception to a drill's verdict.

    waivers:
      - job: space-mirror            # job name, or job@host
        scenario: rclone check --one-way finds no differences   # optional: one scenario
        justification: B2 bucket migration in progress, OPS-1234
        owner: alice@example.net
        expires: 2026-12-15

A failure matched by a waiver that has not expired is reported as waived and does not fail the
run; an expired waiver waives nothing and is listed as expired.

    >>> book = WaiverBook([Waiver(job="space-mirror", justification="migration", owner="alice",
    ...                          expires=date(2999, 1, 1))])
    >>> book.find("space-mirror@akira", "Any scenario", today=date(2026, 11, 22)).owner
    'alice'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job: str | None = None
    scenario: str | None = None
    justification: str
    owner: str
    expires: date

    @model_validator(mode="after")
    def _targets_something(self) -> Waiver:
        if not self.job and not self.scenario:
            raise ValueError("a waiver needs 'job', 'scenario' or both")
        return self

    def matches(self, job_id: str, scenario: str) -> bool:
        job_ok = self.job is None or self.job in (job_id, job_id.split("@", 1)[0])
        return job_ok and (self.scenario is None or self.scenario == scenario)

    def describe(self) -> str:
        return f"waived by {self.owner} until {self.expires}: {self.justification}"


class WaiverError(ValueError):
    """A bad waivers file: the message names the file, the key and what was expected."""


@dataclass(frozen=True)
class WaiverBook:
    waivers: list[Waiver]

    def find(self, job_id: str, scenario: str, today: date | None = None) -> Waiver | None:
        """The first unexpired waiver for this job and scenario."""
        day = today or date.today()
        return next((w for w in self.waivers if w.matches(job_id, scenario) and w.expires >= day),
                    None)

    def expired_for(self, job_id: str, scenario: str, today: date | None = None) -> Waiver | None:
        day = today or date.today()
        return next((w for w in self.waivers if w.matches(job_id, scenario) and w.expires < day),
                    None)


def load_waivers(path: Path) -> WaiverBook:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WaiverError(f"{path}: cannot read waivers: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise WaiverError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("waivers"), list):
        raise WaiverError(f"{path}: waivers: expected a list of waivers under the key 'waivers'")
    waivers = []
    for index, entry in enumerate(doc["waivers"]):
        try:
            waivers.append(Waiver.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: "
                + ("required key is missing" if e["type"] == "missing"
                   else str(e["msg"]).removeprefix("Value error, "))
                for e in exc.errors())
            raise WaiverError(f"{path}: waivers[{index}]: {problems}") from None
    return WaiverBook(waivers)
