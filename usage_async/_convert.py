"""The one cattrs converter, and page decoding built on it.

Structure hooks for the result classes are generated here, one small function per class,
and registered on the converter: each reads every field once from the dict orjson produced,
checks its type with an identity test, and calls the class positionally. cattrs' own
generated hooks (``make_dict_structure_fn``) cost about three times as much per result;
benchmarks/RESULTS.md has the figures. A tagged union on ``object`` (cattrs'
``configure_tagged_union``) serves ``converter.structure(raw, Result)``. In a page, a result
of another type, an ``object`` this version does not know, or a cost without an amount goes
to ``Bucket.unknown`` (with the reason) instead of breaking the stream or the result type.

Rows are generated from the same code: ``row_reader(cls, paths)`` reads and checks every
field exactly as the structure hook does, but returns a tuple of the chosen values (an
amount's value and currency, not an ``Amount``), so the database sync and ``ua.rows`` build
no result objects. ``BucketDecoder(cls, row=paths)`` decodes pages into buckets of such
tuples; which columns a row has, and the path of each, is ``_row_columns``' business.

Wire quirks handled here: ``results`` or the older ``result`` key on buckets;
``num_sessions`` or the older ``sessions``; cost values and quantities as JSON numbers or
decimal strings. Money is exact either way: a page whose amounts or quantities arrive as
JSON numbers with a fraction is parsed with every number's digits kept (``Decimal``),
never through a binary float. Unknown keys are ignored. Anything else off the documented
shape raises ``DecodeError`` saying where (bucket and result index, field) and what was found.

Core layer: the one module that imports cattrs; otherwise attrs, orjson and the core's models.
"""

from __future__ import annotations

import decimal
import functools
import json
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson
from cattrs.preconf.orjson import make_converter
from cattrs.strategies import configure_tagged_union

from ._exceptions import DecodeError
from ._models import (
    Amount,
    Bucket,
    KeyOwner,
    Project,
    ProjectApiKey,
    Result,
    ServiceAccount,
    UnknownResult,
    User,
)

__all__ = [
    "BucketDecoder",
    "ListDecoder",
    "converter",
    "parse_body",
    "read_envelope",
    "row_reader",
]

# Older names a field has gone by on the wire, tried when the current name is absent.
_ALIASES: Mapping[str, tuple[str, ...]] = {"num_sessions": ("sessions",)}


class _FieldError(Exception):
    """A field off the documented shape; becomes a DecodeError with its position."""


class _Untyped(Exception):
    """A result that is fine JSON but not this endpoint's type: it goes to ``Bucket.unknown``."""

    def __init__(self, tag: str, reason: str) -> None:
        super().__init__(reason)
        self.tag = tag
        self.reason = reason


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _as_int(value: object, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _FieldError(f"field {name!r} should be an integer, got {_describe(value)}")


def _as_float(value: object, name: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _FieldError(f"field {name!r} should be a number, got {_describe(value)}")


def _as_str(value: object, name: str) -> str:
    raise _FieldError(f"field {name!r} should be a string, got {_describe(value)}")


def _as_bool(value: object, name: str) -> bool:
    raise _FieldError(f"field {name!r} should be true or false, got {_describe(value)}")


def _as_decimal(value: object, name: str) -> decimal.Decimal:
    # A float only arrives when a caller parsed the body itself; its shortest repr keeps
    # 0.0045 as 0.0045 rather than its binary value. Pages parsed here never hold floats here.
    if isinstance(value, decimal.Decimal):
        if value.is_finite():
            return value
    elif isinstance(value, str | int) and not isinstance(value, bool):
        try:
            result = decimal.Decimal(value)
        except decimal.InvalidOperation:
            pass
        else:
            if result.is_finite():
                return result
    elif isinstance(value, float):
        return decimal.Decimal(repr(value))
    raise _FieldError(f"field {name!r} should be a decimal number, got {_describe(value)}")


def _amount_parts(value: object, name: str = "amount") -> tuple[decimal.Decimal, str]:
    """An amount's ``(value, currency)``: what ``Amount`` holds, for rows built without it."""
    if not isinstance(value, dict):
        raise _FieldError(f"field 'amount' should be an object, got {_describe(value)}")
    raw_value = value.get("value")
    if raw_value is None:
        raise _Untyped("organization.costs.result", "a cost with no amount value")
    currency = value.get("currency")
    if currency is None:
        currency = "usd"  # the API documents amounts in dollars; older rows omit the currency
    elif not isinstance(currency, str):
        raise _FieldError(f"field 'amount.currency' should be a string, got {_describe(currency)}")
    return _as_decimal(raw_value, "amount.value"), currency


def _as_amount(value: object, name: str = "amount") -> Amount:
    return Amount(*_amount_parts(value, name))


def _as_owner(value: object, name: str = "owner") -> KeyOwner:
    """A key's owner, flattened: ``{"type": "user", "user": {...}}`` or a service account."""
    if not isinstance(value, dict):
        raise _FieldError(f"field 'owner' should be an object, got {_describe(value)}")
    kind = value.get("type")
    if not isinstance(kind, str):
        kind = "user" if isinstance(value.get("user"), dict) else "service_account"
    who = value.get(kind)
    if who is None:
        return KeyOwner(kind)
    if not isinstance(who, dict):
        raise _FieldError(f"field 'owner.{kind}' should be an object, got {_describe(who)}")

    def text(key: str) -> str | None:
        item = who.get(key)
        if item is not None and not isinstance(item, str):
            raise _FieldError(f"field 'owner.{kind}.{key}' should be a string")
        return item

    return KeyOwner(kind, text("id"), text("name"), text("email"), text("role"))


# Fields the model requires but the wire may leave out: such a result is kept untyped, with
# this reason, rather than failing the page (the reference makes only ``object`` required
# on costs results, yet a cost without an amount cannot be summed).
_WIRE_OPTIONAL: Mapping[str, str] = {"amount": "a cost with no amount"}

# How each field type is read: (exact class the fast path accepts, slow-path converter).
_READERS: Mapping[type, tuple[str, str]] = {
    int: ("int", "_as_int"),
    float: ("float", "_as_float"),
    str: ("str", "_as_str"),
    bool: ("bool", "_as_bool"),
    decimal.Decimal: ("", "_as_decimal"),
    Amount: ("", "_as_amount"),
    KeyOwner: ("", "_as_owner"),
}

# Composite fields read as a tuple of their parts, in the class's field order, when a row is
# built: a row takes an amount's value and currency, and needs no ``Amount`` in between.
_PART_READERS: Mapping[type, str] = {Amount: "_amount_parts"}


def _base_type(annotation: Any) -> Any:
    """``X`` for a field typed ``X`` or ``X | None`` (the first non-None member of a union)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return args[0]


def _reader_for(annotation: Any) -> tuple[str, str]:
    """The reader of a field typed ``X`` or ``X | None``."""
    return _READERS[_base_type(annotation)]


_NAMESPACE: Mapping[str, Any] = {
    "_FieldError": _FieldError,
    "_Untyped": _Untyped,
    "_describe": _describe,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "_as_int": _as_int,
    "_as_float": _as_float,
    "_as_str": _as_str,
    "_as_bool": _as_bool,
    "_as_amount": _as_amount,
    "_amount_parts": _amount_parts,
    "_as_decimal": _as_decimal,
    "_as_owner": _as_owner,
}


def _generate(cls: type[Any], row: tuple[str | None, ...] | None) -> Callable[[Any, Any], Any]:
    """Write, compile and return ``structure(o, _)`` for one result class.

    The generated code reads each field once, accepts the expected exact type with one
    identity test, and routes anything else through a converter that raises ``_FieldError``.
    A result of another ``object`` type, or one missing a field in ``_WIRE_OPTIONAL``,
    raises ``_Untyped``. Every field is read and checked whatever is returned.

    With ``row`` unset it calls the class with positional arguments (no ``**kwargs`` dict
    per result). With ``row`` (a tuple of paths: ``"model"``, ``"amount.value"``, or
    ``None`` for a value that is always null) it returns a tuple of those values instead,
    and composite fields are read into their parts (``_PART_READERS``), not into objects.
    """
    tag = cls.object
    lines = [
        "def structure(o, _=None):",
        "    if o.__class__ is not dict:",
        "        raise _FieldError('a result should be an object, got ' + _describe(o))",
        "    tag = o.get('object')",
        f"    if tag is not None and tag != {tag!r}:",
        "        raise _Untyped(str(tag), _foreign(tag))",
        "    g = o.get",
    ]
    variables: dict[str, str] = {}
    hints = typing.get_type_hints(cls)
    for i, field in enumerate(attrs.fields(cls)):
        variables[field.name] = var = f"v{i}"
        lines.extend(_field_lines(tag, field, hints[field.name], var, parts=row is not None))
    if row is None:
        lines.append(f"    return cls({', '.join(variables.values())})")
    else:
        items = [_row_item(cls, hints, variables, path) for path in row]
        lines.append(f"    return ({''.join(item + ', ' for item in items)})")
    namespace: dict[str, Any] = {**_NAMESPACE, "cls": cls, "_foreign": _foreign}
    source = "\n".join(lines)
    kind = "structure" if row is None else "row"
    exec(compile(source, f"<usage_async {kind} {cls.__name__}>", "exec"), namespace)
    fn: Callable[[Any, Any], Any] = namespace["structure"]
    made = cls.__name__ if row is None else f"a row tuple of {cls.__name__}"
    fn.__doc__ = f"Structure a wire dict into {made} (generated).\n\n{source}"
    return fn


def _field_lines(
    tag: str, field: attrs.Attribute[Any], annotation: Any, var: str, *, parts: bool
) -> list[str]:
    """The generated lines that read one field into ``var`` and check it (see ``_generate``);
    with ``parts``, a composite field is read into a tuple of its parts."""
    exact, slow = _reader_for(annotation)
    if parts:
        slow = _PART_READERS.get(_base_type(annotation), slow)
    lines = [f"    {var} = g({field.name!r})"]
    for alias in _ALIASES.get(field.name, ()):
        lines.append(f"    if {var} is None: {var} = g({alias!r})")
    if field.default is attrs.NOTHING:  # required
        lines.append(f"    if {var} is None:")
        if field.name in _WIRE_OPTIONAL:
            lines.append(f"        raise _Untyped({tag!r}, {_WIRE_OPTIONAL[field.name]!r})")
        else:
            message = f"missing required field {field.name!r}"
            lines.append(f"        raise _FieldError({message!r})")
        test = f"{var}.__class__ is not {exact}" if exact else ""
    elif exact:
        test = f"{var} is not None and {var}.__class__ is not {exact}"
    else:
        test = f"{var} is not None"
    if test:
        lines.append(f"    if {test}:")
        lines.append(f"        {var} = {slow}({var}, {field.name!r})")
    else:
        lines.append(f"    {var} = {slow}({var}, {field.name!r})")
    return lines


def _row_item(
    cls: type[Any], hints: Mapping[str, Any], variables: Mapping[str, str], path: str | None
) -> str:
    """The expression of one row value: a field's variable, or a part of a composite one."""
    if path is None:
        return "None"
    name, _, part = path.partition(".")
    var = variables.get(name)
    if var is None:
        raise ValueError(f"{cls.__name__} has no field {name!r}")
    if not part:
        if _base_type(hints[name]) in _PART_READERS:
            raise ValueError(f"a row takes the parts of {name!r}, not the whole: {name}.<part>")
        return var
    composite = _base_type(hints[name])
    parts = [f.name for f in attrs.fields(composite)] if composite in _PART_READERS else []
    if part not in parts:
        raise ValueError(f"{cls.__name__}.{name} has no part {part!r} a row can read")
    index = parts.index(part)
    if attrs.fields_dict(cls)[name].default is attrs.NOTHING:
        return f"{var}[{index}]"
    return f"(None if {var} is None else {var}[{index}])"


def _generate_structure_fn(cls: type[Any]) -> Callable[[Any, Any], Any]:
    """The structure hook of one class: a wire dict to an instance (see ``_generate``)."""
    return _generate(cls, None)


@functools.lru_cache(maxsize=256)
def row_reader(cls: type[Any], paths: tuple[str | None, ...]) -> Callable[[Any, Any], Any]:
    """A wire result dict to the tuple of ``paths`` of it, with every check the structure
    hook makes (same errors, same results kept untyped), and no result object built."""
    return _generate(cls, paths)


def _foreign(tag: object) -> str:
    """Why a result of another ``object`` type is kept untyped."""
    known = {cls.object for cls in Result.__args__}
    if tag in known:
        return f"a {tag} result, which is not this endpoint's type"
    return "unknown object type"


def _structure_unknown(value: Any, _: Any = None) -> UnknownResult:
    if not isinstance(value, dict):
        raise _FieldError(f"a result should be an object, got {_describe(value)}")
    tag = value.get("object")
    return UnknownResult(tag if isinstance(tag, str) else repr(tag), value)


_STRUCTURE: Mapping[type, Callable[[Any, Any], Any]] = {
    cls: _generate_structure_fn(cls) for cls in Result.__args__
}
"""The generated hook of each result class (``BucketDecoder`` calls these directly)."""


def _keeping_untyped(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def structure(value: Any, cl: Any = None) -> Any:
        try:
            return hook(value, cl)
        except _Untyped as untyped:
            return UnknownResult(untyped.tag, value, untyped.reason)

    return structure


def _build_converter() -> Any:
    conv = make_converter(forbid_extra_keys=False, detailed_validation=False)
    conv.register_structure_hook(UnknownResult, _structure_unknown)
    for cls, hook in _STRUCTURE.items():
        conv.register_structure_hook(cls, _keeping_untyped(hook))
    configure_tagged_union(
        Result,
        conv,
        tag_generator=lambda cl: str(getattr(cl, "object")),  # noqa: B009
        tag_name="object",
        default=UnknownResult,
    )
    return conv


converter = _build_converter()
"""The library's only cattrs converter (orjson preconf, tolerant of unknown keys)."""


# --- Pages -------------------------------------------------------------------------------------


# A money field (an amount's ``value``, a cost ``quantity``) sent as a JSON number with a
# fraction or an exponent: orjson would read it as a binary float and drop digits.
_FRACTIONAL_MONEY = re.compile(rb'"(?:value|quantity)"\s*:\s*-?\d+[.eE]')


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_LIST_ITEMS: Mapping[type, Callable[[Any, Any], Any]] = {
    cls: _generate_structure_fn(cls) for cls in (Project, User, ProjectApiKey, ServiceAccount)
}


def parse_body(body: bytes, request_id: str | None, *, exact: bool = False) -> Any:
    """Parse a JSON body; a body that is not JSON raises ``DecodeError`` with its first bytes.

    With ``exact``, a body whose money fields are JSON numbers with a fraction is parsed with
    every number as a ``Decimal`` (the standard library's parser, about 1.6x orjson's time);
    bodies with decimal strings or whole numbers, as the live API sends, stay on orjson.
    """
    try:
        if exact and _FRACTIONAL_MONEY.search(body):
            return json.loads(body, parse_float=decimal.Decimal, parse_constant=_refuse_constant)
        return orjson.loads(body)
    except (orjson.JSONDecodeError, json.JSONDecodeError) as exc:
        snippet = body[:80].decode("utf-8", "replace")
        raise DecodeError(
            f"response body is not valid JSON ({exc.msg} at byte {exc.pos} of {len(body)}); "
            f"it starts with {snippet!r}",
            request_id=request_id,
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = body[:80].decode("utf-8", "replace")
        raise DecodeError(
            f"response body is not valid JSON ({exc}); it starts with {snippet!r}",
            request_id=request_id,
        ) from None


def read_envelope(
    doc: Any, request_id: str | None, cursor_field: str = "next_page"
) -> tuple[list[Any], bool, str | None]:
    """Check a page envelope and return ``(data, has_more, cursor)``.

    Both cursor styles share it: usage pages carry the next cursor in ``next_page``,
    directory lists in ``last_id`` (``cursor_field``).
    """
    what = "page" if cursor_field == "next_page" else "list"
    if not isinstance(doc, dict):
        raise DecodeError(f"expected a {what} object, got {_describe(doc)}", request_id=request_id)
    data = doc.get("data")
    if not isinstance(data, list):
        raise DecodeError(
            f"{what} field 'data' should be a list, got {_describe(data)}", request_id=request_id
        )
    has_more = doc.get("has_more", False)
    if not isinstance(has_more, bool):
        raise DecodeError(
            f"{what} field 'has_more' should be true or false, got {_describe(has_more)}",
            request_id=request_id,
        )
    cursor = doc.get(cursor_field)
    if cursor is not None and not isinstance(cursor, str):
        raise DecodeError(
            f"{what} field {cursor_field!r} should be a string or null, got {_describe(cursor)}",
            request_id=request_id,
        )
    return data, has_more, cursor


class BucketDecoder:
    """Decodes the raw buckets of one endpoint's pages, a slice at a time.

    ``parse(body)`` reads a page body (exactly, for endpoints with money);
    ``decode(raw, start, budget)`` decodes buckets from index ``start`` until about ``budget``
    results are done, so the async caller can give the event loop a turn inside huge pages.

    With ``row`` (paths of the result: ``"model"``, ``"amount.value"``, ``None`` for a value
    that is always null), each result is a tuple of those values, read straight from the
    wire with the same checks and the same untyped results kept aside: rows need no result
    objects.
    """

    __slots__ = ("_exact", "_hook", "_result_type")

    def __init__(
        self, result_type: type[Result], row: tuple[str | None, ...] | None = None
    ) -> None:
        self._result_type = result_type
        cls: type = result_type
        self._hook = _STRUCTURE[cls] if row is None else row_reader(cls, row)
        hints = typing.get_type_hints(result_type)
        self._exact = any(
            _reader_for(hints[f.name])[1] in ("_as_amount", "_as_decimal")
            for f in attrs.fields(result_type)
        )

    def parse(self, body: bytes, request_id: str | None) -> Any:
        """The parsed JSON of a page body (see ``parse_body``)."""
        return parse_body(body, request_id, exact=self._exact)

    def decode(
        self, raw: list[Any], start: int, budget: int, request_id: str | None
    ) -> tuple[list[Bucket[Any]], int]:
        """Decode ``raw[start:]`` until ``budget`` results; return the buckets and next index."""
        hook = self._hook
        cls = self._result_type
        out: list[Bucket[Any]] = []
        append = out.append
        index = start
        done = 0
        stop = len(raw)
        try:
            while index < stop and done < budget:
                b = raw[index]
                rs = b.get("results")
                if rs is None:
                    rs = b.get("result")
                start_time = b["start_time"]
                end_time = b["end_time"]
                if (
                    start_time.__class__ is not int
                    or end_time.__class__ is not int
                    or rs.__class__ is not list
                ):
                    raise _FieldError("bad bucket")
                try:
                    append(Bucket(start_time, end_time, tuple([hook(r, cls) for r in rs])))
                except _Untyped:
                    typed, untyped = self._partition(rs)
                    append(Bucket(start_time, end_time, typed, untyped))
                done += len(rs)
                index += 1
        except (_FieldError, KeyError, TypeError, AttributeError, ValueError):
            raise DecodeError(self._diagnose(raw[index]), request_id=request_id) from None
        return out, index

    def _partition(self, raw: list[Any]) -> tuple[tuple[Any, ...], tuple[UnknownResult, ...]]:
        """A bucket's results split into this endpoint's type and the ones kept untyped."""
        typed = []
        untyped = []
        for item in raw:
            try:
                typed.append(self._hook(item, self._result_type))
            except _Untyped as exc:
                untyped.append(UnknownResult(exc.tag, item, exc.reason))
        return tuple(typed), tuple(untyped)

    def _diagnose(self, bucket: Any) -> str:
        """Say exactly what is wrong with a bucket the fast path refused (slow, error path only)."""
        if not isinstance(bucket, dict):
            return f"a bucket should be an object, got {_describe(bucket)}"
        for key in ("start_time", "end_time"):
            value = bucket.get(key)
            if value.__class__ is not int:
                return f"bucket field {key!r} should be an integer, got {_describe(value)}"
        results = bucket.get("results", bucket.get("result"))
        where = f"bucket starting {bucket['start_time']}"
        if results is None:
            return f"{where} has neither 'results' nor 'result'"
        if not isinstance(results, list):
            return f"{where}: 'results' should be a list, got {_describe(results)}"
        for i, item in enumerate(results):
            try:
                self._hook(item, self._result_type)
            except _Untyped:
                continue
            except _FieldError as exc:
                return f"{where}, result {i}: {exc}"
            except Exception as exc:  # a hook bug must still surface as a DecodeError
                return f"{where}, result {i}: {type(exc).__name__}: {exc}"
        return f"{where} could not be decoded"


class ListDecoder:
    """Decodes the items of one directory list; ``project_id`` is set from the path if given."""

    __slots__ = ("_hook", "_item_type", "_tag")

    def __init__(self, item_type: Any) -> None:
        self._item_type = item_type
        self._tag: str = item_type.object
        self._hook = _LIST_ITEMS[item_type]

    def decode(
        self, raw: list[Any], request_id: str | None, project_id: str | None = None
    ) -> list[Any]:
        out = []
        for index, item in enumerate(raw):
            try:
                decoded = self._hook(item, self._item_type)
            except _FieldError as exc:
                raise DecodeError(f"item {index}: {exc}", request_id=request_id) from None
            except _Untyped as exc:
                raise DecodeError(
                    f"item {index} is a {exc.tag!r}, not a {self._tag!r}",
                    request_id=request_id,
                ) from None
            if project_id is not None and decoded.project_id is None:
                decoded.project_id = project_id
            out.append(decoded)
        return out
