"""Phone variants a lookup tries, and the template filters the mapping files use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import TemplateError
from jinja2.exceptions import SecurityError

from ctibridge.crm.mapping.phones import variants
from ctibridge.crm.mapping.templates import Templates

T = Templates("FR")


@pytest.mark.parametrize("typed", ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78",
                                   "0033612345678", "+33612345678", "06-12-34-56-78"])
def test_every_form_of_a_number_gives_the_same_variants_in_order(typed: str) -> None:
    got = [(v.number, v.format) for v in variants(
        typed, ["e164", "national", "national_digits", "digits", "international"], "FR", 8)]
    assert got == [("+33612345678", "e164"), ("06 12 34 56 78", "national"),
                   ("0612345678", "national_digits"), ("33612345678", "digits"),
                   ("+33 6 12 34 56 78", "international"), ("12345678", "last_digits")]


def test_a_number_that_cannot_be_parsed_is_tried_as_typed_only() -> None:
    assert [(v.number, v.format) for v in variants(" 12*3 ", ["e164"], "FR", 6)] == [
        ("12*3", "as_typed")]


@given(st.text(max_size=30))
def test_any_text_gives_at_least_one_variant_and_never_raises(text: str) -> None:
    out = variants(text, ["e164", "national_digits"], "FR", 9)
    assert out and len({v.number for v in out}) == len(out)


def test_filters_convert_numbers_durations_and_times() -> None:
    ctx = {"n": "06 12 34 56 78", "d": 125.4, "t": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert T.render("{{ n | e164 }} {{ n | national }} {{ n | digits }} {{ n | last(4) }}",
                    ctx) == "+33612345678 06 12 34 56 78 0612345678 5678"
    assert T.value("{{ d | seconds }}", ctx) == 125
    assert T.value("{{ d | minutes }}", ctx) == 3  # rounded up
    assert T.value("{{ d | ms }}", ctx) == 125400
    assert T.value("{{ t | iso }}", ctx) == "2025-01-02T03:04:05Z"
    assert T.value("{{ '2025-01-02T03:04:05+01:00' | epoch_ms }}", ctx) == 1735783445000


def test_a_single_expression_keeps_its_type_and_text_renders_to_a_string() -> None:
    ctx = {"record": None, "x": 3}
    assert T.value({"a": "{{ record.id if record else none }}", "b": "n={{ x }}",
                    "c": ["{{ x }}", 4]}, ctx) == {"a": None, "b": "n=3", "c": [3, 4]}


def test_an_undefined_name_at_render_time_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(TemplateError):
        T.value("{{ attached.customer_id }}", {"attached": {}})
    with pytest.raises(TemplateError):
        T.render("id={{ attached.customer_id }}", {"attached": {}})


def test_when_treats_a_missing_key_as_false() -> None:
    assert T.when("attached.crm_record_id", {"attached": {}}) is False
    assert T.when("attached.crm_record_id", {"attached": {"crm_record_id": "7"}}) is True


def test_templates_run_in_the_sandbox() -> None:
    with pytest.raises(SecurityError):
        T.render("{{ ''.__class__.__mro__ }}", {})


def test_typed_filters_give_datetimes_numbers_and_booleans_or_refuse() -> None:
    t = Templates()
    ctx = {"v": None}

    def value(expr: str, v: object) -> object:
        return t.value("{{ v | " + expr + " }}", {**ctx, "v": v})

    assert value("as_datetime", "2026-12-05T10:30:00+01:00") == datetime(
        2026, 12, 5, 9, 30, tzinfo=UTC)
    assert value("as_datetime", "2026-12-05 09:30:00") == datetime(2026, 12, 5, 9, 30,
                                                                    tzinfo=UTC)
    assert value("as_datetime", 0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert value("as_int", " 42 ") == 42 and value("as_int", 3.0) == 3
    assert value("as_float", "4.5") == 4.5
    assert [value("as_bool", x) for x in ("yes", "0", "TRUE", 1, "")] == [
        True, False, True, True, False]
    for f in ("as_datetime", "as_int", "as_float", "as_bool"):
        assert value(f, None) is None
    for f, bad in (("as_datetime", "tomorrow"), ("as_int", "C-42"), ("as_int", 2.5),
                   ("as_int", True), ("as_float", "nan"), ("as_bool", "maybe")):
        with pytest.raises(TemplateError, match=f"{f}: "):
            value(f, bad)
