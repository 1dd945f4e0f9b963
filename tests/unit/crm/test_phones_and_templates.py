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
