"""Shared aliases."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator

JSON = Any
JSONObject = dict[str, Any]

# Every time a client gives us is stored in UTC and moved by at most a year of arithmetic
# (deadlines, intervals, retry delays): keep well inside what Python and both databases hold.
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def storable_time(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a timezone")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(
            f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()} once in UTC"
        )
    return utc


# An aware datetime within the range above, moved to UTC, for request bodies and query parameters.
Timestamp = Annotated[datetime, AfterValidator(storable_time)]
