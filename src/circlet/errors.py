"""The error tree of circlet. HTTP status codes live only in ``circlet.api.errors``.

CIError
  NotFound                 (404) a thing does not exist, or the caller may not see it
  Unauthorized             (401) no or bad credentials
  Forbidden                (403) the caller is known but may not do this
  BadRequest               (400) a request is malformed
    NotSupported           (400) a feature circlet does not implement
  Conflict                 (409) the thing is not in a state that allows this
    InvalidTransition      a compare-and-set on a status lost
  ConfigInvalid            (400) the pipeline configuration is invalid (holds every Problem)
  VcsError                 (400) a git operation failed (unknown ref, unreadable repo)
  StoreError               (500) the database failed
  Unavailable              (503) not now: the request can be repeated later
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CIError(Exception):
    """Unexpected CI server error."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)

    @property
    def message(self) -> str:
        return str(self.args[0])


class NotFound(CIError):
    """Not found."""


class Unauthorized(CIError):
    """You must log in first."""


class Forbidden(CIError):
    """Permission denied."""


class BadRequest(CIError):
    """Bad request."""


class NotSupported(BadRequest):
    """This feature is not supported by circlet."""


class Conflict(CIError):
    """The resource is not in a state that allows this action."""


class InvalidTransition(Conflict):
    """The status changed concurrently."""

    def __init__(self, *, entity: str, entity_id: str, expected: str, new: str) -> None:
        super().__init__(f"{entity} {entity_id} is not {expected}; cannot move it to {new}")
        self.entity = entity
        self.entity_id = entity_id
        self.expected = expected
        self.new = new


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration, located as precisely as known."""

    message: str  #: a plain sentence
    path: str = ""  #: YAML path, e.g. ``workflows.build.jobs[2].requires``
    file: str = ".circleci/config.yml"
    line: int | None = None  #: 1-based
    column: int | None = None  #: 1-based

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        at = f" ({self.path})" if self.path else ""
        return f"{where}{at}: {self.message}"


class ConfigInvalid(CIError):
    """The pipeline configuration is invalid."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems) or self.__doc__)
        self.problems = tuple(problems)


class VcsError(CIError):
    """The repository could not be read."""


class StoreError(CIError):
    """The database failed."""


class Unavailable(CIError):
    """Not available now; try again later."""
