"""The read policy of the metrics store: what a reader's SQL may do, checked on ClickHouse's
own parse of it, and the engine settings every read runs under.

Every read from outside the writer (the chDB owner's endpoint, `open_metrics_reader`, status,
the demo, tests) goes through `MetricsStore.read`:

1. The engine parses the text (`parse_sql`): `parseQueryToJSON` takes exactly one statement
   ("Multi-statements are not allowed"), and its JSON must format back to exactly what
   `formatQuerySingleLine` makes of the text, so the JSON form left nothing out.
2. `check` walks that JSON against allowlists (it fails closed: a node type or clause it
   does not know is refused): the root is one SELECT (a UNION of SELECTs);
   no INTO OUTFILE, FORMAT, SETTINGS or query parameters anywhere; every function is a
   built-in of a pure category (`FunctionCatalog`: no file, URL, process, dictionary, AI,
   introspection or server-setting function); every table function is one of
   `TABLE_FUNCTIONS` (numbers, zeros, values, generate_series). A tenant's query names only
   the metrics tables that carry `tenant_id` (or its own CTEs), no virtual column (`_part`,
   `_part_offset`, ...) and no PREWHERE.
3. The store runs it on a connection of its own, never the writer's, with `ReadLimits`
   (readonly=1, max_execution_time, memory, result size, threads) as connection settings the
   query cannot change; for a tenant also `additional_table_filters` (`table_filters`), so the
   engine filters every read of every table of the metrics database to that tenant (tables
   without `tenant_id` to nothing), through subqueries, CTEs, JOINs, UNIONs, IN and FINAL.

What chDB 26.9 enforces by itself under readonly=1 (tests/integration/projections/
test_metrics_endpoint_attacks.py): writes, DDL, SET and SETTINGS fail with Code 164
(READONLY), and so do the file/url/s3/remote/executable/loop table functions;
max_execution_time stops a query (Code 159, TIMEOUT_EXCEEDED). What it does NOT refuse, and
step 2 does: `INTO OUTFILE` (it writes the file), the scalar function `file()` (it returns a
file's bytes), every statement of a multi-statement text (it runs them all), and `merge()`,
`mergeTreeIndex()` and an explicit PREWHERE, which see past `additional_table_filters`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from projections.metrics_errors import QueryRefused

#: Node types a read may contain (parseQueryToJSON's names); any other is refused.
NODE_TYPES = frozenset({
    "SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "ExpressionList",
    "Identifier", "TableIdentifier", "Literal", "Function", "Asterisk", "QualifiedAsterisk",
    "ColumnsRegexpMatcher", "ColumnsListMatcher", "QualifiedColumnsRegexpMatcher",
    "QualifiedColumnsListMatcher", "ColumnsTransformerList", "ColumnsExceptTransformer",
    "ColumnsReplaceTransformer", "ColumnsReplaceTransformerReplacement",
    "ColumnsApplyTransformer", "Subquery", "WithElement", "TablesInSelectQuery",
    "TablesInSelectQueryElement", "TableExpression", "TableJoin", "ArrayJoin", "OrderByElement",
    "InterpolateElement", "WindowDefinition", "WindowListElement", "SampleRatio",
})

#: The clauses (JSON keys) each statement-level node may have; any other is refused, so a
#: clause a later ClickHouse adds (or renames) is refused until it is looked at. Named here:
#: the keys that are refused on purpose, with what they are.
STATEMENT_KEYS = {
    "SelectWithUnionQuery": frozenset({
        "type", "union_mode", "list_of_modes", "list_of_selects", "is_outfile_append",
        "is_outfile_truncate", "is_into_outfile_with_stdout"}),
    "SelectIntersectExceptQuery": frozenset({"type", "children", "final_operator"}),
    "SelectQuery": frozenset({
        "type", "with", "recursive_with", "distinct", "select", "tables", "prewhere", "where",
        "group_by", "group_by_all", "group_by_with_totals", "group_by_with_rollup",
        "group_by_with_cube", "group_by_with_grouping_sets", "having", "window", "qualify",
        "order_by", "order_by_all", "interpolate", "limit_by_offset", "limit_by_length",
        "limit_by", "limit_offset", "limit_length", "limit_with_ties"}),
    "TableExpression": frozenset({
        "type", "database_and_table_name", "table_function", "subquery", "final",
        "sample_size", "sample_offset", "column_aliases"}),
}
REFUSED_KEYS = {
    "out_file": "INTO OUTFILE", "compression": "INTO OUTFILE ... COMPRESSION",
    "compression_level": "INTO OUTFILE ... COMPRESSION", "format_ast": "FORMAT",
    "settings_ast": "SETTINGS", "settings": "SETTINGS",
}
OUTFILE_FLAGS = ("is_outfile_append", "is_outfile_truncate", "is_into_outfile_with_stdout")

#: Table functions a read may use: generators of constant rows, touching no storage.
TABLE_FUNCTIONS = frozenset({"numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series",
                             "generateseries", "values", "sqlstandardvalues"})

#: Categories of system.functions whose functions compute only on their arguments.
SAFE_CATEGORIES = frozenset({
    "Aggregate Functions", "Arithmetic", "Arrays", "Bit", "Bitmap", "Comparison",
    "Conditional", "Dates and Times", "Distance", "Encoding", "Encryption", "Financial", "Geo",
    "Geo Polygon", "Hash", "IP Address", "JSON", "Logical", "Map", "Mathematical", "Null",
    "NumericIndexedVector", "QBit", "Random Number", "Rounding", "String",
    "String Replacement", "String Search", "String Splitting", "Time Window", "Tuple",
    "Type Conversion", "URL", "UUID",
})
#: Functions of other categories ("Other", "Internal") that are pure too.
EXTRA_FUNCTIONS = frozenset({
    "bar", "byteSize", "caseWithExpression", "colorOKLABToSRGB", "colorOKLCHToSRGB",
    "colorSRGBToOKLAB", "colorSRGBToOKLCH", "countDigits", "currentDatabase",
    "defaultValueOfArgumentType", "defaultValueOfTypeName", "errorCodeToName",
    "finalizeAggregation", "flipCoordinates", "formatReadableDecimalSize",
    "formatReadableQuantity", "formatReadableSize", "formatReadableTimeDelta", "getSetting",
    "getSettingOrDefault", "getSizeOfEnumType", "getSubcolumn", "identity", "ignore",
    "indexHint", "initializeAggregation", "isConstant", "isDecimalOverflow",
    "lowCardinalityIndices", "lowCardinalityKeys", "MACNumToString", "MACStringToNum",
    "MACStringToOUI", "materialize", "neighbor", "parseISO8601Duration", "parseReadableSize",
    "parseReadableSizeOrNull", "parseReadableSizeOrZero", "parseTimeDelta",
    "runningAccumulate", "runningDifference", "runningDifferenceStartingWithFirstValue",
    "toColumnTypeName", "toTypeName", "transform", "variantElement", "variantType", "version",
    "visibleWidth",
})
#: Functions of a safe category that still may not run (they read server state).
DENIED_FUNCTIONS = frozenset({"flameGraph"})
#: Function nodes the parser makes that are syntax, not catalogued functions.
SYNTAX_FUNCTIONS = frozenset({"lambda", "exists", "grouping"})
#: IN-style operators: `x IN t` reads table `t`.
IN_FUNCTIONS = frozenset({"in", "notIn", "globalIn", "globalNotIn", "nullIn", "notNullIn",
                          "globalNullIn", "globalNotNullIn"})

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TENANT_COLUMN = "tenant_id"
MAX_TENANT_CHARS = 128  # schemas.events: tenant_id max_length

CATALOG_SQL = ("SELECT name, categories, alias_to, is_aggregate, case_insensitive, origin "
               "FROM system.functions")
COMBINATORS_SQL = "SELECT name FROM system.aggregate_function_combinators"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class ReadLimits:
    """Engine limits every read runs under (connection settings a query cannot change)."""

    timeout_s: float = 10.0
    memory_bytes: int = 1024 * 1024 * 1024
    max_rows: int = 100_000
    max_result_bytes: int = 256 * 1024 * 1024
    threads: int = 2
    max_query_bytes: int = 64 * 1024

    def settings(self) -> dict[str, str]:
        return {
            "readonly": "1",
            "max_execution_time": f"{self.timeout_s:g}",
            "timeout_overflow_mode": "throw",
            "max_memory_usage": str(self.memory_bytes),
            "max_result_rows": str(self.max_rows),
            "max_result_bytes": str(self.max_result_bytes),
            "result_overflow_mode": "throw",
            "max_threads": str(self.threads),
        }


@dataclass(frozen=True)
class Scope:
    """Whose read this is. `tenant` None = an operator (status, demo, tests): every table, still
    read-only. `tables`: the metrics database's tables -> whether each has `tenant_id`."""

    database: str
    tenant: str | None = None
    tables: Mapping[str, bool] = field(default_factory=dict)

    @property
    def tenant_tables(self) -> frozenset[str]:
        return frozenset(t for t, scoped in self.tables.items() if scoped)


def validate_tenant(tenant: str) -> str:
    if not tenant or not tenant.strip() or len(tenant) > MAX_TENANT_CHARS:
        raise QueryRefused(f"not a tenant id: {tenant[:MAX_TENANT_CHARS]!r}")
    return tenant


def table_filters(scope: Scope) -> str:
    """`additional_table_filters` for a tenant's reads: every table of the metrics database,
    those with `tenant_id` to the tenant's rows and the others to none. The tenant id travels
    hex-encoded, so no value can break out of the filter expression."""
    if scope.tenant is None:
        raise ValueError("an operator read has no table filters")
    if not IDENTIFIER.match(scope.database):
        raise QueryRefused(f"not a database name: {scope.database!r}")
    tenant = f"unhex('{validate_tenant(scope.tenant).encode().hex()}')"
    entries = []
    for table, scoped in sorted(scope.tables.items()):
        if not IDENTIFIER.match(table):
            raise QueryRefused(f"not a table name: {table!r}")
        expr = f"{TENANT_COLUMN} = {tenant}" if scoped else "0"
        entries.append(f"{_quote(f'{scope.database}.{table}')}: {_quote(expr)}")
    return "{" + ", ".join(entries) + "}"


def tables_sql(database: str) -> str:
    """The tables of `database`, each with whether it has a `tenant_id` column."""
    return (f"SELECT table, max(name = '{TENANT_COLUMN}') AS scoped FROM system.columns "
            f"WHERE database = {_quote(database)} GROUP BY table")


def parse_sql(sql: str) -> str:
    """The statement that makes the engine parse `sql`: its JSON AST (`ast`), and whether that
    JSON formats back to the text's own formatting (`faithful`). `sql` travels hex-encoded."""
    return (f"WITH unhex('{sql.encode().hex()}') AS q SELECT parseQueryToJSON(q) AS ast, "
            "formatQueryFromJSON(ast) = formatQuerySingleLine(q) AS faithful")


def parse_error(message: str) -> str:
    """The engine's complaint about a text, without the parse statement around it."""
    first = message.strip().splitlines()[0] if message.strip() else message
    return first.split(": In scope ", 1)[0].removeprefix("chDB: ").removeprefix("ClickHouse: ")


@dataclass(frozen=True)
class _Function:
    name: str
    categories: frozenset[str]
    alias_to: str
    is_aggregate: bool
    system: bool


class FunctionCatalog:
    """Which functions a read may call, from the engine's own system.functions."""

    def __init__(self, functions: Iterable[Mapping[str, Any]], combinators: Iterable[str]) -> None:
        self._exact: dict[str, _Function] = {}
        self._folded: dict[str, _Function] = {}
        for row in functions:
            f = _Function(
                name=str(row["name"]),
                categories=frozenset(c.strip() for c in str(row["categories"]).split(",")
                                     if c.strip()),
                alias_to=str(row.get("alias_to") or ""),
                is_aggregate=bool(int(row["is_aggregate"])),
                system=str(row["origin"]) == "System")
            self._exact[f.name] = f
            if int(row["case_insensitive"]):
                self._folded[f.name.lower()] = f
        self._combinators = sorted((str(c) for c in combinators), key=len, reverse=True)

    def _lookup(self, name: str) -> _Function | None:
        return self._exact.get(name) or self._folded.get(name.lower())

    def _pure(self, f: _Function, depth: int = 0) -> bool:
        if not f.system or f.name in DENIED_FUNCTIONS or depth > 4:
            return False
        if f.alias_to:
            target = self._lookup(f.alias_to)
            return target is not None and self._pure(target, depth + 1)
        return (bool(f.categories) and f.categories <= SAFE_CATEGORIES) or f.name in EXTRA_FUNCTIONS

    def allowed(self, name: str, depth: int = 0) -> bool:
        """`name` is a pure built-in, or a pure aggregate with combinators (`sumIf`,
        `uniqExactState`, `quantilesOrNull` ...)."""
        if name in SYNTAX_FUNCTIONS:
            return True
        f = self._lookup(name)
        if f is not None:
            return self._pure(f)
        if depth > 4:
            return False
        for suffix in self._combinators:
            if name.endswith(suffix) and len(name) > len(suffix):
                base = name[: -len(suffix)]
                inner = self._lookup(base)
                if inner is not None:
                    return inner.is_aggregate and self._pure(inner)
                if self.allowed(base, depth + 1):
                    return True
        return False


def _nodes(root: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Every AST node under `root` with the key it hangs from, depth-first, iteratively."""
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        value, key = stack.pop()
        if isinstance(value, dict):
            if "type" in value:
                yield value, key
            stack.extend((v, k) for k, v in value.items() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, key) for v in value)


def _name_parts(node: Mapping[str, Any]) -> list[str]:
    parts = node.get("name_parts")
    return [str(p) for p in parts] if parts else [str(node.get("name", ""))]


def _check_table(parts: list[str], scope: Scope, ctes: frozenset[str]) -> None:
    """A tenant may name a tenant-scoped metrics table (qualified or not) or its own CTE."""
    name = ".".join(parts)
    if len(parts) == 2 and parts[0] == scope.database and parts[1] in scope.tenant_tables:
        return
    if len(parts) == 1 and (parts[0] in scope.tenant_tables or parts[0] in ctes):
        return
    allowed = ", ".join(sorted(scope.tenant_tables)) or "none yet"
    raise QueryRefused(f"table {name} is not readable by tenant {scope.tenant} (its tables: "
                       f"{allowed})")


def check(ast: Mapping[str, Any], catalog: FunctionCatalog, scope: Scope) -> None:
    """Refuse (QueryRefused, saying what) anything in `ast` a reader of `scope` may not do."""
    if ast.get("type") != "SelectWithUnionQuery":
        raise QueryRefused(f"only SELECT is allowed here, not {ast.get('type')}")
    tenant = scope.tenant is not None
    ctes = frozenset(str(n.get("name")) for n, _ in _nodes(ast) if n["type"] == "WithElement")
    for node, key in _nodes(ast):
        kind = node["type"]
        if kind not in NODE_TYPES:
            what = "SETTINGS" if kind == "SetQuery" else kind
            raise QueryRefused(f"{what} is not allowed in a read")
        if kind in STATEMENT_KEYS:
            unknown = node.keys() - STATEMENT_KEYS[kind]
            if unknown:
                bad = next((k for k in REFUSED_KEYS if k in unknown), min(unknown))
                what = REFUSED_KEYS.get(bad, f"the clause {bad!r} of {kind}")
                raise QueryRefused(f"{what} is not allowed in a read")
            if any(node.get(flag) for flag in OUTFILE_FLAGS):
                raise QueryRefused("INTO OUTFILE is not allowed in a read")
            if tenant and "prewhere" in node:
                raise QueryRefused("PREWHERE is not allowed in a tenant's read (use WHERE)")
        elif kind == "Function":
            name = str(node.get("name", ""))
            if key == "table_function":
                if name.lower() not in TABLE_FUNCTIONS:
                    raise QueryRefused(f"table function {name}() is not allowed in a read "
                                       f"(allowed: {', '.join(sorted(TABLE_FUNCTIONS))})")
            elif not catalog.allowed(name):
                raise QueryRefused(f"function {name}() is not allowed in a read")
            if tenant and name in IN_FUNCTIONS:
                args = (node.get("arguments") or {}).get("children") or []
                if len(args) == 2 and args[1].get("type") == "Identifier":
                    _check_table(_name_parts(args[1]), scope, ctes)
        elif kind == "ColumnsApplyTransformer":
            name = str(node.get("func_name", ""))
            if name and not catalog.allowed(name):
                raise QueryRefused(f"function {name}() is not allowed in a read")
        elif kind == "TableIdentifier" and tenant:
            _check_table(_name_parts(node), scope, ctes)
        elif kind == "Identifier" and tenant and _name_parts(node)[-1].startswith("_"):
            raise QueryRefused(f"virtual column {node.get('name')} is not readable by a tenant")
