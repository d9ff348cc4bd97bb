"""Wire-format parsers: pydantic models per API payload, converted to ``domain.records``.

Each module validates one wire format (v1 camelCase, v2 snake_case envelopes, CLOB, Gamma) and
returns records, so nothing past this package knows which API version answered.
"""
