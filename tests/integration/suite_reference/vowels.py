"""Reference for examples/suite/easy/count-vowels.md."""


def count_vowels(text: str) -> int:
    return sum(1 for c in text if c in "aeiouAEIOU")
