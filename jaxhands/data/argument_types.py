"""argparse value types of the dataset command lines (python -m data_prep ...; errors name the value)."""

from __future__ import annotations

import argparse


def int_at_least(minimum: int):
    """An argparse type accepting integers >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)
