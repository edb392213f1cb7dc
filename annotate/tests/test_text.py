"""The storage rule for text: hostile strings in, what PostgreSQL and a reader get."""

import pytest

from annotate.text import clean_json, clean_text, is_blank

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: three emoji, two ZWJ


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a\x00b", "ab"),
        ("\x00\x00Hello\x00", "Hello"),
        ("bell\x07 escape\x1b[31m red", "bell escape[31m red"),
        ("del\x7f and C1 \x85\x9f next", "del and C1  next"),
        ("vertical\x0btab and form\x0cfeed", "verticaltab and formfeed"),
        ("lost \ufffd\ufffd bytes", "lost  bytes"),
        ("lone \ud800 high, lone \udfff low", "lone  high, lone  low"),
        ("reversed pair \ude00\ud83d", "reversed pair "),
        ("pair left in a str \ud83d\ude00", "pair left in a str \U0001f600"),
        ("windows\r\nline\rmac", "windows\nline\nmac"),
        ("CR\x00\nsplit by a NUL", "CR\nsplit by a NUL"),
        ("line\u2028sep\u2029para", "line\nsep\npara"),
        ("\ttab\tkept\n", "\ttab\tkept\n"),
        ("  surrounding spaces kept  ", "  surrounding spaces kept  "),
    ],
)
def test_clean_text_drops_what_cannot_or_should_not_be_stored(raw, stored):
    assert clean_text(raw) == stored
    assert "\x00" not in clean_text(raw)
    clean_text(raw).encode("utf-8")  # a lone surrogate would raise here


@pytest.mark.parametrize(
    "text",
    [
        f"A family {FAMILY}, a flag \U0001f1eb\U0001f1f7, a thumb \U0001f44d\U0001f3fd",
        "Привет, мир — 你好，世界 — مرحبا بالعالم — नमस्ते — שָׁלוֹם",
        "e\u0301 combining accent, \u00e9 precomposed (no normalisation)",
        "zero\u200bwidth space, soft\u00adhyphen, bidi \u202ertl\u202c, BOM \ufeff",
        "private use \ue000 and noncharacter \uffff are storable",
        "",
    ],
)
def test_clean_text_keeps_everything_else_as_is(text):
    assert clean_text(text) == text


@pytest.mark.parametrize(
    "raw",
    [
        "\r\x00\n",
        "a\ud83d\x00\ude00b",
        "\ud800\udc00\ud800",
        "x\r\r\n\u2028",
        "\ufffd\r",
    ],
)
def test_cleaning_twice_changes_nothing(raw):
    assert clean_text(clean_text(raw)) == clean_text(raw)


def test_clean_json_cleans_every_string_keys_included():
    value = {"a\x00": ["ok", "b\ud800", {"c": "d\ufffd"}], "n": 1.5, "t": None}
    assert clean_json(value) == {"a": ["ok", "b", {"c": "d"}], "n": 1.5, "t": None}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "\x00\x00\x00",
        "\ufffd\ufffd \ufffd",
        "\ud800\udfff",
        "\u200b\u200c\u200d\u2060\ufeff",  # zero-width and format characters only
        "\u202e\u202c\u200e",  # bidi controls
        "\u0301\u0308",  # combining marks with nothing to combine with
        "\u3164\u2800\u115f",  # Hangul filler, braille blank: letters that show nothing
        "\u00a0\u2003\u3000",  # no-break, em and ideographic spaces
        "\ue000\ue001",  # private use
    ],
)
def test_is_blank_when_nothing_readable_is_left(text):
    assert is_blank(text)


@pytest.mark.parametrize(
    "text",
    ["a", " .", "\x00 7 \x00", "\U0001f600", FAMILY, "\u200b你", "\ufffd-"],
)
def test_one_letter_digit_punctuation_mark_or_emoji_is_not_blank(text):
    assert not is_blank(text)
