"""Reference for examples/suite/hard/tiny-calc.md: a recursive-descent evaluator."""

_OPERATORS = "+-*/()"


def tokenize(expression: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(expression):
        c = expression[i]
        if c == " ":
            i += 1
        elif c in _OPERATORS:
            tokens.append(c)
            i += 1
        elif c in "0123456789":
            j = i
            while j < len(expression) and expression[j] in "0123456789":
                j += 1
            tokens.append(expression[i:j])
            i = j
        else:
            raise ValueError(f"unexpected character {c!r} at position {i}")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("the expression ends too early")
        self.pos += 1
        return token

    def expression(self) -> int:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> int:
        value = self.factor()
        while self.peek() in ("*", "/"):
            if self.take() == "*":
                value *= self.factor()
            else:
                divisor = self.factor()
                if divisor == 0:
                    raise ZeroDivisionError("division by zero")
                quotient = abs(value) // abs(divisor)
                value = quotient if (value >= 0) == (divisor > 0) else -quotient
        return value

    def factor(self) -> int:
        token = self.take()
        if token == "-":
            return -self.factor()
        if token == "(":
            value = self.expression()
            if self.take() != ")":
                raise ValueError("a parenthesis is not closed")
            return value
        if token.isdigit():
            return int(token)
        raise ValueError(f"unexpected {token!r}")


def evaluate(expression: str) -> int:
    parser = _Parser(tokenize(expression))
    value = parser.expression()
    if parser.peek() is not None:
        raise ValueError(f"unexpected {parser.peek()!r} after the expression")
    return value
