"""`tests/` mirrors `ains/`: the tests of `ains/<domain>/` are in `tests/<domain>/`, so a newcomer
finds the tests of `routing/policy.py` in `tests/routing/test_policy.py`. The few folders tested
elsewhere say where here; a new domain without tests fails."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# domain → where its tests live instead, and why
TESTED_ELSEWHERE = {
    "db": "tests/architecture/test_dialect_seam.py (the seam) and every end-to-end test (both DBs)",
    "dlq": "tests/reliability/test_retries_dlq.py (dead-lettering is the end of a retry story)",
    "models": "tests/architecture/ and the migration tests (tables have no behaviour)",
}


def _domains() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "ains").glob("*/__init__.py"))


def test_every_domain_has_its_tests_folder() -> None:
    missing = [
        d for d in _domains() if d not in TESTED_ELSEWHERE and not (ROOT / "tests" / d).is_dir()
    ]
    assert missing == [], f"add tests/<domain>/ for: {missing}"


def test_the_exceptions_are_still_domains_and_their_tests_exist() -> None:
    for domain, where in TESTED_ELSEWHERE.items():
        assert domain in _domains(), f"{domain} is no longer a folder of ains/"
        assert (ROOT / where.split(" ")[0]).exists(), where
