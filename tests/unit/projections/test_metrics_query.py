"""The read policy's pure parts: the AST check, the function catalogue, the tenant filters
and the endpoint's tokens. The ASTs are in the shape ClickHouse's parseQueryToJSON gives
(the integration test runs the real parser: tests/integration/projections/
test_metrics_endpoint_attacks.py)."""

from __future__ import annotations

from typing import Any

import pytest

from projections.metrics_auth import InvalidToken, operator_token, tenant_of, tenant_token
from projections.metrics_errors import QueryRefused
from projections.metrics_query import (
    FunctionCatalog,
    ReadLimits,
    Scope,
    check,
    parse_error,
    parse_sql,
    table_filters,
)

DB = "auterity"
TABLES = {"step_metrics": True, "ai_model_usage": True, "ai_model_usage_skipped": False}
OPERATOR = Scope(DB)
TENANT = Scope(DB, "dealer-001", TABLES)


def _fn(name: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Function", "name": name,
            "arguments": {"type": "ExpressionList", "children": list(args)}}


def _lit(value: Any) -> dict[str, Any]:
    return {"type": "Literal", "value": {"field_type": "String", "value": value}}


def _ident(name: str) -> dict[str, Any]:
    parts = name.split(".")
    node: dict[str, Any] = {"type": "Identifier", "name": name}
    if len(parts) > 1:
        node["name_parts"] = parts
    return node


def _table(name: str) -> dict[str, Any]:
    node = _ident(name)
    node["type"] = "TableIdentifier"
    return {"type": "TableExpression", "database_and_table_name": node}


def _select(*exprs: dict[str, Any], table: dict[str, Any] | None = None,
            **clauses: Any) -> dict[str, Any]:
    q: dict[str, Any] = {"type": "SelectQuery",
                         "select": {"type": "ExpressionList", "children": list(exprs)}}
    if table is not None:
        q["tables"] = {"type": "TablesInSelectQuery", "children": [
            {"type": "TablesInSelectQueryElement", "table_expression": table}]}
    q.update(clauses)
    return q


def _query(*selects: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {"type": "SelectWithUnionQuery", "union_mode": "UNION_DEFAULT",
            "list_of_selects": {"type": "ExpressionList", "children": list(selects)},
            "is_outfile_append": False, "is_outfile_truncate": False,
            "is_into_outfile_with_stdout": False, **keys}


def _catalog() -> FunctionCatalog:
    def row(name: str, category: str, alias: str = "", agg: int = 0, ci: int = 0,
            origin: str = "System") -> dict[str, Any]:
        return {"name": name, "categories": category, "alias_to": alias, "is_aggregate": agg,
                "case_insensitive": ci, "origin": origin}

    return FunctionCatalog([
        row("count", "Aggregate Functions", agg=1, ci=1), row("sum", "Aggregate Functions", agg=1),
        row("equals", "Comparison"), row("in", "Comparison"), row("plus", "Arithmetic"),
        row("toUInt32", "Type Conversion"), row("version", "Other"), row("file", "Other"),
        row("hostName", "Other"), row("hostname", "", alias="hostName"),
        row("substr", "", alias="substring"), row("substring", "String", ci=1),
        row("dictGet", "Dictionary"), row("aiGenerate", "AI"), row("logTrace", "Introspection"),
        row("flameGraph", "Aggregate Functions", agg=1),
        row("my_udf", "", origin="SQLUserDefined"),
    ], ["If", "State", "Merge", "OrNull"])


CATALOG = _catalog()


@pytest.mark.parametrize("name", ["count", "COUNT", "sum", "sumIf", "sumStateIf", "countOrNull",
                                  "equals", "plus", "version", "substr", "SUBSTRING", "lambda"])
def test_pure_functions_are_allowed(name):
    assert CATALOG.allowed(name)


@pytest.mark.parametrize("name", ["file", "FILE", "hostName", "hostname", "dictGet", "aiGenerate",
                                  "logTrace", "flameGraph", "my_udf", "fileIf", "plusIf",
                                  "unknownFunction", "toUInt32If", ""])
def test_impure_unknown_and_user_functions_are_refused(name):
    assert not CATALOG.allowed(name)


def test_a_plain_select_passes_for_the_operator_and_the_tenant():
    q = _query(_select(_fn("count"), table=_table(f"{DB}.step_metrics"),
                       where=_fn("equals", _ident("ok"), _lit(1))))
    check(q, CATALOG, OPERATOR)
    check(q, CATALOG, TENANT)


@pytest.mark.parametrize("ast, message", [
    ({"type": "InsertQuery"}, "only SELECT"),
    ({"type": "SetQuery", "changes": []}, "only SELECT"),
    (_query(_select(_lit(1)), out_file=_lit("/tmp/x")), "INTO OUTFILE"),
    (_query(_select(_lit(1)), is_into_outfile_with_stdout=True), "INTO OUTFILE"),
    (_query(_select(_lit(1)), format_ast=_ident("CSV")), "FORMAT"),
    (_query(_select(_lit(1), settings={"type": "SetQuery", "changes": []})), "SETTINGS"),
    (_query(_select(_fn("file", _lit("/etc/passwd")))), "function file"),
    (_query(_select({"type": "Asterisk", "transformers": {
        "type": "ColumnsTransformerList",
        "children": [{"type": "ColumnsApplyTransformer", "func_name": "file"}]}})),
     "function file"),
    (_query(_select(_lit(1), table={"type": "TableExpression",
                                     "table_function": _fn("url", _lit("http://x"))})),
     "table function url"),
    (_query(_select(_lit(1), table={"type": "TableExpression",
                                     "table_function": _fn("merge", _lit(DB))})),
     "table function merge"),
    (_query(_select({"type": "QueryParameter", "name": "p"})), "QueryParameter"),
    (_query(_select(_lit(1), into_new_clause=_lit(1))), "into_new_clause"),
    (_query(_select(_lit(1), table={"type": "TableExpression", "new_source": _lit("/x")})),
     "new_source"),
])
def test_everyone_is_refused(ast, message):
    for scope in (OPERATOR, TENANT):
        with pytest.raises(QueryRefused, match=message):
            check(ast, CATALOG, scope)


def test_a_generator_table_function_is_allowed():
    q = _query(_select(_fn("count"), table={"type": "TableExpression",
                                            "table_function": _fn("numbers", _lit(10))}))
    check(q, CATALOG, TENANT)


@pytest.mark.parametrize("ast, message", [
    (_query(_select(_lit(1), table=_table("system.parts"))), "system.parts"),
    (_query(_select(_lit(1), table=_table(f"{DB}.ai_model_usage_skipped"))), "not readable"),
    (_query(_select(_lit(1), table=_table("other.step_metrics"))), "other.step_metrics"),
    (_query(_select(_lit(1), table=_table("unknown_table"))), "unknown_table"),
    (_query(_select(_ident("_part_offset"), table=_table("step_metrics"))), "virtual column"),
    (_query(_select(_lit(1), table=_table("step_metrics"), prewhere=_lit(1))), "PREWHERE"),
    (_query(_select(_fn("in", _ident("event_id"), _ident("system.parts")))), "system.parts"),
])
def test_a_tenant_reads_only_its_tables(ast, message):
    check(ast, CATALOG, OPERATOR)  # the operator may
    with pytest.raises(QueryRefused, match=message):
        check(ast, CATALOG, TENANT)


def test_a_tenant_may_name_its_ctes_and_unqualified_tables():
    cte = {"type": "WithElement", "name": "mine",
           "subquery": {"type": "Subquery", "children": [
               _query(_select(_lit(1), table=_table("step_metrics")))]}}
    check(_query(_select(_lit(1), table=_table("mine"),
                         **{"with": {"type": "ExpressionList", "children": [cte]}})),
          CATALOG, TENANT)
    check(_query(_select(_fn("in", _ident("event_id"), _ident("ai_model_usage")))),
          CATALOG, TENANT)


def test_a_node_deep_in_the_tree_is_seen():
    inner = _fn("file", _lit("/k"))
    for _ in range(3000):  # deeper than Python's recursion limit: the walk is iterative
        inner = _fn("plus", inner, _lit(1))
    with pytest.raises(QueryRefused, match="function file"):
        check(_query(_select(inner)), CATALOG, TENANT)


def test_table_filters_cover_every_table_and_cannot_be_broken_out_of():
    hostile = "x') OR 1 OR ('"
    f = table_filters(Scope(DB, hostile, TABLES))
    assert f"'{DB}.ai_model_usage_skipped': '0'" in f
    assert hostile.encode().hex() in f and "OR 1" not in f
    assert f.count("tenant_id = unhex(") == 2
    with pytest.raises(ValueError):
        table_filters(OPERATOR)
    with pytest.raises(QueryRefused):
        table_filters(Scope(DB, "t", {"bad name; DROP": True}))
    with pytest.raises(QueryRefused):
        table_filters(Scope(DB, "", TABLES))


def test_parse_sql_carries_the_text_hex_encoded():
    sql = "SELECT ''';\n DROP"
    stmt = parse_sql(sql)
    assert sql.encode().hex() in stmt and "DROP" not in stmt
    assert parse_error("chDB: Code: 62. DB::Exception: Syntax error: x: In scope WITH unhex(..."
                       ) == "Code: 62. DB::Exception: Syntax error: x"


def test_read_limits_are_readonly_and_bounded():
    s = ReadLimits(timeout_s=2.5, max_rows=10).settings()
    assert s["readonly"] == "1" and s["max_execution_time"] == "2.5"
    assert s["max_result_rows"] == "10" and s["result_overflow_mode"] == "throw"


def test_tokens_carry_the_tenant_under_the_mac():
    key = b"k" * 32
    assert tenant_of(key, operator_token(key)) is None
    assert tenant_of(key, tenant_token(key, "dealer-001")) == "dealer-001"
    assert tenant_of(key, tenant_token(key, "dealer.ü/ 1")) == "dealer.ü/ 1"
    kind, _name, mac = tenant_token(key, "dealer-001").split(".")
    forged = tenant_token(key, "dealer-002").rsplit(".", 1)[0] + "." + mac
    for bad in ["", "op.", "op." + mac, forged, tenant_token(b"other", "dealer-001"),
                "tenant.!!!.00", "tenant..", "Bearer x"]:
        with pytest.raises(InvalidToken):
            tenant_of(key, bad)


class _FakeClient:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def raw_query(self, sql: str, fmt: str, settings: dict[str, Any]) -> bytes:
        self.calls.append((sql, settings))
        if sql.startswith("SELECT table,"):
            return b'{"table": "step_metrics", "scoped": 1}'
        if sql.startswith("WITH unhex("):
            ast = _query(_select(_fn("count"), table=_table("step_metrics")))
            import json

            return json.dumps({"ast": json.dumps(ast), "faithful": 1}).encode()
        if "system.functions" in sql:
            return b'{"name": "count", "categories": "Aggregate Functions", "alias_to": "", ' \
                   b'"is_aggregate": 1, "case_insensitive": 1, "origin": "System"}'
        if "combinators" in sql:
            return b'{"name": "If"}'
        return b'{"n": 1}'

    def close(self) -> None:
        pass


def test_server_reads_send_the_same_readonly_settings_and_tenant_filters(monkeypatch):
    import clickhouse_connect

    from projections.metrics_store import ServerStore

    made: list[_FakeClient] = []

    def get_client(**kwargs: Any) -> _FakeClient:
        made.append(_FakeClient(**kwargs))
        return made[-1]

    monkeypatch.setattr(clickhouse_connect, "get_client", get_client)
    store = ServerStore("http://default:pw@127.0.0.1:8123", DB, ReadLimits(timeout_s=3))
    assert store.read("SELECT count() FROM step_metrics", tenant="dealer-001") == [{"n": 1}]
    writer, *readers = made
    assert writer.calls == []  # reads never use the writer's client
    assert all(r.kwargs["autogenerate_session_id"] is False for r in readers)
    tenant_reader = next(r for r in readers if r.kwargs["database"] == DB)
    (sql, settings), = tenant_reader.calls
    assert sql == "SELECT count() FROM step_metrics"
    assert settings["readonly"] == "1" and settings["max_execution_time"] == "3"
    assert f"'{DB}.step_metrics': 'tenant_id = unhex(\\'{b'dealer-001'.hex()}\\')'" == \
        settings["additional_table_filters"][1:-1]
    for reader in readers:
        assert all(s["readonly"] == "1" for _, s in reader.calls)
