"""The local provider's schema -> grammar bounds (pure)."""

from processors.llm.local_provider import GRAMMAR_MAX_REPEAT, grammar_schema, llama_response_format


def test_length_bounds_llama_cpp_cannot_expand_are_loosened() -> None:
    schema = {"type": "object", "properties": {
        "body": {"type": "string", "minLength": 1, "maxLength": 1500},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20,
                                            "enum": ["a"]}, "minItems": 200, "maxItems": 300}}}
    safe = grammar_schema(schema)
    assert safe["properties"]["body"] == {"type": "string", "minLength": 1}
    tags = safe["properties"]["tags"]
    assert tags["minItems"] == GRAMMAR_MAX_REPEAT and "maxItems" not in tags
    assert tags["items"]["maxLength"] == 20 and schema["properties"]["body"]["maxLength"] == 1500
    fmt = llama_response_format({"type": "json_schema", "json_schema": {"schema": schema}})
    assert fmt == {"type": "json_object", "schema": safe}
