"""Reference for examples/suite/easy/digit-sum.md."""


def digit_sum(n: int) -> int:
    return sum(int(c) for c in str(abs(n)))
