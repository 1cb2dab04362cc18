"""Counts in sentences: "1 sentence", not "1 sentences"."""

from muser_core.base.words import plural


def test_one_is_singular_and_the_rest_plural():
    assert plural(1, "sentence") == "1 sentence"
    assert plural(0, "sentence") == "0 sentences" and plural(2_326, "sentence") == "2,326 sentences"
    assert plural(2, "child", "children") == "2 children"
