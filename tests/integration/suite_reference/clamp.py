"""Reference for examples/suite/easy/clamp.md."""


def clamp(value: float, low: float, high: float) -> float:
    if low > high:
        raise ValueError(f"low ({low}) is above high ({high})")
    if value < low:
        return low
    if value > high:
        return high
    return value
