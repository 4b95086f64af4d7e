"""The one cattrs converter, and page decoding built on it.

Structure hooks for the result classes are generated here, one small function per class,
and registered on the converter: each reads every field once from the dict orjson produced,
checks its type with an identity test, and calls the class positionally. cattrs' own
generated hooks (``make_dict_structure_fn``) cost about three times as much per result;
benchmarks/RESULTS.md has the figures. A tagged union on ``object`` (cattrs'
``configure_tagged_union``) handles results of another type, and unknown ``object`` values
become ``UnknownResult`` instead of breaking the stream.

Wire quirks handled here: ``results`` or the older ``result`` key on buckets;
``num_sessions`` or the older ``sessions``; cost values as JSON numbers or decimal strings.
Unknown keys are ignored. Anything else off the documented shape raises ``DecodeError``
saying where (bucket and result index, field) and what was found.
"""

from __future__ import annotations

import decimal
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson
from cattrs.preconf.orjson import make_converter
from cattrs.strategies import configure_tagged_union

from ._exceptions import DecodeError
from ._models import Amount, Bucket, Result, UnknownResult

__all__ = [
    "BucketDecoder",
    "converter",
    "parse_body",
    "read_envelope",
]

# Older names a field has gone by on the wire, tried when the current name is absent.
_ALIASES: Mapping[str, tuple[str, ...]] = {"num_sessions": ("sessions",)}


class _FieldError(Exception):
    """A field off the documented shape; becomes a DecodeError with its position."""


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


def _as_decimal(value: object) -> decimal.Decimal:
    # Floats go through their shortest repr, so 0.0045 stays 0.0045 and not its binary value.
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            result = decimal.Decimal(value)
        except decimal.InvalidOperation:
            pass
        else:
            if result.is_finite():
                return result
    elif isinstance(value, float):
        return decimal.Decimal(repr(value))
    raise _FieldError(f"field 'amount.value' should be a decimal number, got {_describe(value)}")


def _as_amount(value: object, name: str = "amount") -> Amount | None:
    if not isinstance(value, dict):
        raise _FieldError(f"field 'amount' should be an object, got {_describe(value)}")
    raw_value = value.get("value")
    if raw_value is None:
        return None
    currency = value.get("currency")
    if currency is None:
        currency = "usd"  # the API documents amounts in dollars; older rows omit the currency
    elif not isinstance(currency, str):
        raise _FieldError(f"field 'amount.currency' should be a string, got {_describe(currency)}")
    return Amount(_as_decimal(raw_value), currency)


# How each field type is read: (exact class the fast path accepts, slow-path converter).
_READERS: Mapping[type, tuple[str, str]] = {
    int: ("int", "_as_int"),
    float: ("float", "_as_float"),
    str: ("str", "_as_str"),
    bool: ("bool", "_as_bool"),
    Amount: ("", "_as_amount"),
}


def _reader_for(annotation: Any) -> tuple[str, str]:
    """The reader of a field typed ``X`` or ``X | None``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return _READERS[args[0]]


def _generate_structure_fn(
    cls: type[Any], fallback: Callable[[Any], Any]
) -> Callable[[Any, Any], Any]:
    """Write, compile and return ``structure(o, _)`` for one result class.

    The generated code reads each field once, accepts the expected exact type with one
    identity test, routes anything else through a converter that raises ``_FieldError``,
    and calls the class with positional arguments (no ``**kwargs`` dict per result).
    """
    tag = cls.object
    lines = [
        "def structure(o, _=None):",
        "    if o.__class__ is not dict:",
        "        raise _FieldError('a result should be an object, got ' + _describe(o))",
        "    tag = o.get('object')",
        f"    if tag is not None and tag != {tag!r}:",
        "        return fallback(o)",
        "    g = o.get",
    ]
    args = []
    hints = typing.get_type_hints(cls)
    for i, field in enumerate(attrs.fields(cls)):
        var = f"v{i}"
        args.append(var)
        exact, slow = _reader_for(hints[field.name])
        required = field.default is attrs.NOTHING
        lines.append(f"    {var} = g({field.name!r})")
        for alias in _ALIASES.get(field.name, ()):
            lines.append(f"    if {var} is None: {var} = g({alias!r})")
        if required:
            lines.append(f"    if {var} is None:")
            message = f"missing required field {field.name!r}"
            lines.append(f"        raise _FieldError({message!r})")
            test = f"{var}.__class__ is not {exact}"
        elif exact:
            test = f"{var} is not None and {var}.__class__ is not {exact}"
        else:
            test = f"{var} is not None"
        lines.append(f"    if {test}:")
        lines.append(f"        {var} = {slow}({var}, {field.name!r})")
    lines.append(f"    return cls({', '.join(args)})")
    namespace: dict[str, Any] = {
        "cls": cls,
        "fallback": fallback,
        "_FieldError": _FieldError,
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
    }
    source = "\n".join(lines)
    exec(compile(source, f"<usage_async structure {cls.__name__}>", "exec"), namespace)
    fn: Callable[[Any, Any], Any] = namespace["structure"]
    fn.__doc__ = f"Structure a wire dict into {cls.__name__} (generated).\n\n{source}"
    return fn


def _structure_unknown(value: Any, _: Any = None) -> UnknownResult:
    if not isinstance(value, dict):
        raise _FieldError(f"a result should be an object, got {_describe(value)}")
    tag = value.get("object")
    return UnknownResult(tag if isinstance(tag, str) else repr(tag), value)


def _build_converter() -> Any:
    conv = make_converter(forbid_extra_keys=False, detailed_validation=False)
    conv.register_structure_hook(UnknownResult, _structure_unknown)

    def any_result(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _FieldError(f"a result should be an object, got {_describe(value)}")
        return conv.structure(value, Result)  # type: ignore[arg-type]

    for cls in Result.__args__:
        conv.register_structure_hook(cls, _generate_structure_fn(cls, any_result))
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


def parse_body(body: bytes, request_id: str | None) -> Any:
    """Parse a JSON body; a body that is not JSON raises ``DecodeError`` with its first bytes."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        snippet = body[:80].decode("utf-8", "replace")
        raise DecodeError(
            f"response body is not valid JSON ({exc.msg} at byte {exc.pos} of {len(body)}); "
            f"it starts with {snippet!r}",
            request_id=request_id,
        ) from None


def read_envelope(doc: Any, request_id: str | None) -> tuple[list[Any], bool, str | None]:
    """Check the page envelope and return ``(data, has_more, next_page)``."""
    if not isinstance(doc, dict):
        raise DecodeError(f"expected a page object, got {_describe(doc)}", request_id=request_id)
    data = doc.get("data")
    if not isinstance(data, list):
        raise DecodeError(
            f"page field 'data' should be a list, got {_describe(data)}", request_id=request_id
        )
    has_more = doc.get("has_more", False)
    if not isinstance(has_more, bool):
        raise DecodeError(
            f"page field 'has_more' should be true or false, got {_describe(has_more)}",
            request_id=request_id,
        )
    next_page = doc.get("next_page")
    if next_page is not None and not isinstance(next_page, str):
        raise DecodeError(
            f"page field 'next_page' should be a string or null, got {_describe(next_page)}",
            request_id=request_id,
        )
    return data, has_more, next_page


class BucketDecoder:
    """Decodes the raw buckets of one endpoint's pages, a slice at a time.

    ``decode(raw, start, budget)`` decodes buckets from index ``start`` until about ``budget``
    results are done, so the async caller can give the event loop a turn inside huge pages.
    """

    __slots__ = ("_hook", "_result_type")

    def __init__(self, result_type: type[Result]) -> None:
        self._result_type = result_type
        self._hook: Callable[[Any, Any], Any] = converter.get_structure_hook(result_type)

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
                append(Bucket(start_time, end_time, tuple([hook(r, cls) for r in rs])))
                done += len(rs)
                index += 1
        except (_FieldError, KeyError, TypeError, AttributeError, ValueError):
            raise DecodeError(self._diagnose(raw[index]), request_id=request_id) from None
        return out, index

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
            except _FieldError as exc:
                return f"{where}, result {i}: {exc}"
            except Exception as exc:  # a hook bug must still surface as a DecodeError
                return f"{where}, result {i}: {type(exc).__name__}: {exc}"
        return f"{where} could not be decoded"
