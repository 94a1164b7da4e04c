"""No body text is lost or invented: every character of every seed is placed exactly once."""

from __future__ import annotations

import dataclasses

import pytest

from rag.ingest.accounting import account
from tests.conftest import SEED_FILES


@pytest.mark.parametrize("name", SEED_FILES)
def test_account_every_seed_character_is_placed_exactly_once(seeds, name):
    accounting = account(seeds[name])
    assert accounting.ok, accounting.report()


def test_account_reports_an_article_that_went_missing(seeds):
    loaded = seeds["000_b906d9a3be0f9243.txt"]
    damaged = dataclasses.replace(loaded, articles=loaded.articles[1:])
    accounting = account(damaged)
    assert not accounting.ok
    assert accounting.unclaimed and "前两天" in accounting.report()


def test_account_reports_text_that_was_invented(seeds):
    loaded = seeds["003_5f0dfba9933f395f.txt"]
    first = loaded.articles[0]
    forged = first.model_copy(update={"text": first.text + "湖州GDP增长100%"})
    accounting = account(dataclasses.replace(loaded, articles=(forged, *loaded.articles[1:])))
    assert accounting.field_mismatches == [f"{first.id}.text differs from its source spans"]


@pytest.mark.parametrize("name", SEED_FILES)
def test_load_source_ids_are_stable_across_loads(seeds, name):
    from rag.ingest import load_source
    from tests.conftest import CORPUS, MAX_BYTES

    again = load_source(CORPUS / name, MAX_BYTES)
    assert [a.id for a in again.articles] == [a.id for a in seeds[name].articles]
    assert again.articles == seeds[name].articles
