from datetime import timedelta

import pytest

from backup_drills.core.durations import human, human_seconds, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("26h", 93600),
        ("7d", 604800),
        ("15m", 900),
        ("1h30m", 5400),
        ("90s", 90),
        ("1w", 604800),
        ("0.5s", 0.5),
        (" 2h ", 7200),
    ],
)
def test_parses_operator_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "26", "h", "26 hours", "-5m", "1h 30x", "abc"])
def test_rejects_what_is_not_a_duration_and_says_what_was_expected(text):
    with pytest.raises(ValueError, match="expected a duration such as 26h"):
        parse_duration(text)


def test_human_renders_compactly():
    assert human(timedelta(hours=26)) == "26h"
    assert human(timedelta(days=2)) == "2d"
    assert human_seconds(5400) == "1h30m"
    assert human_seconds(0.84) == "0.8s"
    assert human_seconds(252) == "4m12s"
