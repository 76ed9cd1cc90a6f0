"""`planbot --help` speaks the reader's words: no internal rule numbers, a pointer to the rules."""

from __future__ import annotations

import argparse
import re

from adapters.cli import build_parser

RULE_NUMBER = re.compile(r"\bP\d+\b")


def _every_help(parser: argparse.ArgumentParser) -> list[str]:
    found = [parser.format_help()]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _every_help(sub)
    return found


def test_no_help_text_names_a_rule_by_its_internal_number() -> None:
    texts = _every_help(build_parser())
    assert len(texts) >= 8  # planbot, its commands and db/sandbox's own
    for text in texts:
        assert RULE_NUMBER.search(text) is None, text


def test_the_help_points_at_the_rules_and_says_what_quote_prices() -> None:
    parser = build_parser()
    assert "docs/rules.md" in parser.format_help()
    main = " ".join(parser.format_help().split())
    assert "price a new purchase, more accounts, a change or a downgrade" in main
