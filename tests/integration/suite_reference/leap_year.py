"""Reference for examples/suite/easy/leap-year.md."""


def is_leap_year(year: int) -> bool:
    if year < 1:
        raise ValueError(f"year {year} is before year 1")
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
