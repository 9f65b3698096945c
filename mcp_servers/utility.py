"""Utility MCP server: safe arithmetic and clock tools, the first tools a local agent reaches for.

Run it with ``python -m mcploom.mcp_servers.utility`` (stdio) or ``--http --port 8000``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcploom.mcp_servers._annotations import READ_ONLY
from mcploom.mcp_servers._serve import ServerCommand
from mcploom.mcp_servers._server import McploomServer
from mcploom.mcp_servers._zones import MAX_TEXT_CHARS, resolve_zone

__all__ = ["create_server", "evaluate", "main"]

MAX_EXPRESSION_CHARS = 1000
MAX_EXPONENT = 10_000
MAX_RESULT_DIGITS = 10_000

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": math.factorial,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
EXPRESSION_PATTERN = (
    r"^([0-9.,+\-*/%()^×÷'` ]|" + "|".join(sorted([*_FUNCTIONS, *_CONSTANTS], key=len, reverse=True)) + ")+$"
)
"""What ``calculate`` accepts, as a JSON Schema ``pattern``: a grammar-constrained model cannot put
a column name or an SQL aggregate in an expression (Qwen2.5 0.5B wrote ``COUNT(*)`` and
``SUM(quantity)`` after a query instead of answering with its result: agent tasks, sql family)."""


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression without ``eval``: numbers, + - * / // % **, parentheses,
    and the functions and constants in ``_FUNCTIONS`` / ``_CONSTANTS``.

    Raises:
        ValueError: The expression is not arithmetic, is too large, or divides by zero.

    Example:
        >>> evaluate("1234 * 5678")
        7006652
        >>> evaluate("sqrt(16) + 2**3")
        12.0
        >>> evaluate("'3 * 60'")
        180
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"Expression is {len(expression)} characters; the limit is {MAX_EXPRESSION_CHARS}.")
    # People and models write "x" and "^" for multiply and power, and "," as a thousands separator;
    # small models also quote the whole expression ("'3 * 60'").
    text = expression.strip().strip("'\"`").strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"Cannot parse {expression!r}: {exc.msg}. Use numbers, + - * / ** and parentheses.") from None
    try:
        return _eval(tree.body)
    except ZeroDivisionError:
        raise ValueError(f"Division by zero in {expression!r}.") from None
    except OverflowError:
        raise ValueError(f"The result of {expression!r} is too large to represent.") from None


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"Exponent {right} is larger than the limit of {MAX_EXPONENT}.")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, int) and result.bit_length() > MAX_RESULT_DIGITS * 3.33:
            raise ValueError(f"The result has more than {MAX_RESULT_DIGITS} digits.")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(arg) for arg in node.args))
    allowed = ", ".join(sorted(_FUNCTIONS) + sorted(_CONSTANTS))
    raise ValueError(
        f"Unsupported element {ast.unparse(node)!r}. Only numbers, + - * / // % **, parentheses and "
        f"these names are allowed: {allowed}."
    )


class Calculation(BaseModel):
    """The result of one calculation."""

    expression: str = Field(description="The expression as given.")
    result: int | float = Field(description="Its value.")


class TimeAnswer(BaseModel):
    """A moment in one time zone."""

    timezone: str = Field(description="IANA time zone name.")
    date: str = Field(description="The date, YYYY-MM-DD.")
    time: str = Field(description="The time of day, HH:MM (24-hour clock).")
    weekday: str = Field(description="Day of the week.")
    iso: str = Field(description="ISO 8601 date and time with UTC offset.")


_CLOCK_TIME = re.compile(
    r"(?:(?P<date>\d{4}-\d{2}-\d{2})[T\s]+)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<half>[ap])\.?m\.?)?",
    re.IGNORECASE,
)


def _moment(text: str, zone: ZoneInfo) -> datetime:
    """The moment ``text`` names on the clocks of ``zone``: ISO 8601, a date alone (midnight), or a
    clock time ("9:30", "6 pm") on a date or on today's date in ``zone``. An offset written in it is
    dropped: the zone is named separately, and small models append a stray ``Z`` (Qwen2.5 0.5B
    wrote ``07:15Z`` for 07:15 in Paris)."""
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ToolError(f"A date and time of {len(text)} characters is not one; write it like '2026-03-01T09:30'.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _clock_time(text, zone)
    return moment.replace(tzinfo=zone)


def _clock_time(text: str, zone: ZoneInfo) -> datetime:
    match = _CLOCK_TIME.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        day = date.fromisoformat(match["date"]) if match["date"] else datetime.now(zone).date()
        hour = int(match["hour"])
        if match["half"]:
            if not 1 <= hour <= 12:
                raise ValueError(text)
            hour = hour % 12 + (12 if match["half"].lower() == "p" else 0)
        return datetime(day.year, day.month, day.day, hour, int(match["minute"] or 0), int(match["second"] or 0))
    except ValueError:
        raise ToolError(
            f"Cannot read {text!r} as a date and time; write it like '2026-03-01T09:30' (or '09:30' for today)."
        ) from None


def _answer(moment: datetime, zone: ZoneInfo) -> TimeAnswer:
    return TimeAnswer(
        timezone=zone.key,
        date=moment.strftime("%Y-%m-%d"),
        time=moment.strftime("%H:%M"),
        weekday=moment.strftime("%A"),
        iso=moment.isoformat(timespec="seconds"),
    )


def create_server() -> MCPServer:
    """Build the utility server with its ``calculate`` and ``convert_time`` tools."""
    server = McploomServer("mcploom-utility", instructions="Exact arithmetic and the current time.")

    @server.tool(annotations=READ_ONLY)
    def calculate(
        expression: Annotated[
            str,
            Field(
                description="Arithmetic expression: numbers, + - * / ** (power), "
                "parentheses, sqrt(x), round(x, digits); p% of x is written (p / 100) * x.",
                # In the schema only, for grammars: the evaluator's own error says what is allowed in
                # one line, where pydantic's would quote the whole pattern.
                json_schema_extra={"pattern": EXPRESSION_PATTERN},
            ),
        ],
    ) -> Calculation:
        """Evaluate an arithmetic expression exactly. Use this for any multiplication, division or other math."""
        try:
            return Calculation(expression=expression, result=evaluate(expression))
        except ValueError as exc:
            raise ToolError(str(exc)) from None

    # One clock tool, not a "now" beside it: given both, Qwen2.5 0.5B called now for every conversion
    # question ("what time is it in Tokyo when ...") and answered with the current time.
    @server.tool(annotations=READ_ONLY.model_copy(update={"idempotent_hint": False}))
    def convert_time(
        time: Annotated[
            str,
            Field(
                description="The date and time in from_timezone as YYYY-MM-DDTHH:MM (ISO 8601), "
                "a date alone for its weekday, or 'now' for the current time."
            ),
        ],
        from_timezone: Annotated[str, Field(description="Zone the time is in: IANA name or city.")],
        to_timezone: Annotated[
            str, Field(description="Zone to give the time in: IANA name or city (the same zone to stay in it).")
        ],
    ) -> TimeAnswer:
        """Convert a date and time from one time zone to another, or get the current time in a zone ('now'); gives
        the date, time and weekday."""
        try:
            source, target = resolve_zone(from_timezone), resolve_zone(to_timezone)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        moment = datetime.now(source) if time.strip().lower() == "now" else _moment(time, source)
        return _answer(moment.astimezone(target), target)

    return server


COMMAND = ServerCommand("utility", __doc__.splitlines()[0], lambda _: create_server())
"""``python -m mcploom.mcp_servers.utility`` (``mcploom serve utility``)."""

main = COMMAND.main


if __name__ == "__main__":
    main()
