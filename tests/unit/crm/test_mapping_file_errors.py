"""A broken mapping file is refused at load, with file:line, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.crm.mapping import MappingFileError, read_mapping

ROOT = Path(__file__).resolve().parents[3]

GOOD = """\
name: crm
connection:
  base_url: "https://crm.example/api"
auth:
  type: bearer
  token: "{{ env.CRM_TOKEN }}"
record:
  id: id
  name: name
lookups:
  - name: by_phone
    phone: true
    request:
      path: /contacts
      query: {phone: "{{ number }}"}
    results: items
log:
  request:
    method: POST
    path: /calls
    headers: {Idempotency-Key: "{{ idempotency_key }}"}
    json: {contact: "{{ record.id if record else none }}"}
"""
ENV = {"CRM_TOKEN": "t0ken"}


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None,
             variables: dict[str, str] | None = None) -> list[str]:
    f = tmp_path / "crm.yaml"
    f.write_text(text)
    with pytest.raises(MappingFileError) as err:
        read_mapping(f, variables, ENV if env is None else env)
    assert err.value.code == "bad-mapping-file"
    return [p.replace(f"{f}:", "crm.yaml:") for p in err.value.problems]


def test_the_good_file_loads(tmp_path: Path) -> None:
    f = tmp_path / "crm.yaml"
    f.write_text(GOOD)
    mapping = read_mapping(f, {}, ENV)
    assert mapping.lookups[0].name == "by_phone" and mapping.auth.type == "bearer"


@pytest.mark.parametrize("name", ["democrm.yaml", "inhouse-rest.yaml", "inhouse-sql.yaml"])
def test_the_shipped_examples_load(name: str) -> None:
    env = {"INHOUSE_CRM_SECRET": "x", "CRM_DATABASE_URL": "sqlite:///x.db"}
    mapping = read_mapping(ROOT / "examples/mappings" / name,
                           {"hub_url": "http://h", "crm_url": "http://c"}, env)
    assert [lk.name for lk in mapping.lookups][0] == "by_record_id"


def test_an_unknown_key_is_named_with_the_keys_expected(tmp_path: Path) -> None:
    text = GOOD.replace("    results: items", "    results: items\n    reslts: items")
    assert problems(tmp_path, text) == [
        "crm.yaml:17: lookups[0].reslts: unknown key 'reslts'; expected one of: name, when, "
        "phone, formats, request, sql, params, results, record, empty_statuses, then"]


def test_an_unknown_key_in_the_auth_lists_that_auth_s_keys(tmp_path: Path) -> None:
    text = GOOD.replace("  token:", "  tokn:")
    assert problems(tmp_path, text) == [
        "crm.yaml:4: auth.token: required, but missing",
        "crm.yaml:6: auth.tokn: unknown key 'tokn'; expected one of: type, token"]


def test_an_unknown_auth_type_lists_the_known_ones(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace("type: bearer", "type: kerberos"))
    assert problem.startswith("crm.yaml:5: auth.type: unknown 'kerberos'; expected one of: "
                              "'none', 'basic', 'bearer', 'api_key'")


def test_a_bad_jmespath_is_refused(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace("results: items", "results: 'items[?'"))
    assert problem.startswith("crm.yaml:16: lookups[0].results: not a valid JMESPath")


def test_a_template_syntax_error_is_refused(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace('{phone: "{{ number }}"}',
                                                '{phone: "{{ number }"}'))
    assert problem.startswith("crm.yaml:15: lookups[0].request.query.phone: template error: ")


def test_an_unknown_filter_is_refused(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace("{{ number }}", "{{ number | e165 }}"))
    assert problem == ("crm.yaml:15: lookups[0].request.query.phone: template error: "
                       "No filter named 'e165'. (template line 1)")


def test_a_name_a_template_cannot_read_there_is_refused(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace("{{ number }}", "{{ interaction.number }}"))
    assert problem.startswith("crm.yaml:15: lookups[0].request.query.phone: unknown name "
                              "'interaction' in template; here a template can read: attached,")


def test_a_missing_environment_variable_is_named(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD, env={}) == [
        "crm.yaml:6: auth.token: environment variable 'CRM_TOKEN' is not set; set it in the "
        "environment of the hub, or write {{ env.CRM_TOKEN | default('…') }}"]


def test_a_missing_variable_is_named(tmp_path: Path) -> None:
    text = GOOD.replace("https://crm.example/api", "{{ vars.crm_url }}/api")
    [problem] = problems(tmp_path, text)
    assert problem.startswith("crm.yaml:3: connection.base_url: variable 'crm_url' is not set;")


def test_a_defaulted_environment_variable_may_be_missing(tmp_path: Path) -> None:
    f = tmp_path / "crm.yaml"
    f.write_text(GOOD.replace("{{ env.CRM_TOKEN }}", "{{ env.CRM_TOKEN | default('dev') }}"))
    assert read_mapping(f, {}, {}).auth.type == "bearer"


def test_a_wrong_type_is_refused_with_what_was_given(tmp_path: Path) -> None:
    text = GOOD.replace('  base_url: "https://crm.example/api"',
                        '  base_url: "https://crm.example/api"\n  timeout_seconds: soon')
    assert problems(tmp_path, text) == [
        "crm.yaml:4: connection.timeout_seconds: Input should be a valid number, unable to "
        "parse string as a number (got 'soon')"]


def test_a_phone_lookup_must_search_for_the_number(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace('"{{ number }}"', '"x"'))
    assert problem.startswith("crm.yaml:12: lookups[0].phone: a phone lookup must search for")


def test_a_log_without_the_idempotency_key_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('    headers: {Idempotency-Key: "{{ idempotency_key }}"}\n', "")
    [problem] = problems(tmp_path, text)
    assert problem.startswith("crm.yaml:17: log: the log request never sends "
                              "{{ idempotency_key }}")


def test_sql_parameters_must_all_be_given(tmp_path: Path) -> None:
    text = GOOD.replace('base_url: "https://crm.example/api"', 'database_url: "sqlite:///x.db"')
    text = text.replace('''    request:
      path: /contacts
      query: {phone: "{{ number }}"}
''', '''    sql: "SELECT id, name FROM c WHERE phone = :number OR mobile = :mobile"
    params: {number: "{{ number }}"}
''')
    text = text.split("log:")[0]
    assert problems(tmp_path, text) == [
        "crm.yaml:14: lookups[0].params: the query uses :mobile but params gives no value for it"]


def test_an_http_lookup_needs_a_base_url(tmp_path: Path) -> None:
    text = GOOD.replace('base_url: "https://crm.example/api"', 'database_url: "sqlite:///x.db"')
    found = problems(tmp_path, text)
    assert "crm.yaml:13: lookups[0].request: an HTTP request needs connection.base_url" in found


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("    results: items", "    results: items\n    results: data")
    assert problems(tmp_path, text) == [
        "crm.yaml:17: lookups[0].results: the key 'results' is given twice"]


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD.replace("  name: name", "  name: [name"))
    assert problem.startswith("crm.yaml:1") and "not valid YAML" in problem


def test_an_unknown_region_is_refused(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, GOOD + "phone: {default_region: FX}\n")
    assert problem.startswith("crm.yaml:23: phone.default_region: unknown region 'FX'")


def test_every_fault_is_listed_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("results: items", "results: 'items[?'").replace("type: bearer",
                                                                       "type: bearer\n  x: 1")
    assert len(problems(tmp_path, text, env={})) == 3
