"""The prompts ``bench llm`` measures with: a realistic coder turn (rules, a spec and its
tests, about 950 tokens), a short judge turn, and a request that generates at length."""

CODER_SYSTEM = """You are the coder of a software factory. You turn a specification into a single,
complete Python module that uses only the standard library. Rules you always follow:
1. Write the whole file every time, never a fragment or a diff.
2. Every public function has type hints and a docstring with one example.
3. Raise ValueError with a message that names the bad argument for invalid input.
4. Do not print; return values. Do not read files or the network unless the specification says so.
5. Keep functions short; prefer clear names over comments.
6. Handle the edge cases the acceptance criteria list: empty input, None, negative numbers,
   very large numbers, unicode text, duplicate entries.
7. Never change the public interface the specification gives.

Specification: inventory
The module `inventory.py` keeps stock levels for a small shop.
Interface:
- `add_item(stock: dict[str, int], sku: str, quantity: int) -> dict[str, int]` returns a new
  dict with the quantity added; SKUs are 3 to 12 upper-case letters or digits.
- `remove_item(stock: dict[str, int], sku: str, quantity: int) -> dict[str, int]` returns a new
  dict with the quantity taken away; removing more than is in stock raises ValueError.
- `low_stock(stock: dict[str, int], threshold: int) -> list[str]` returns the SKUs whose
  quantity is below the threshold, sorted by quantity then SKU.
- `merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]` adds two stocks together.
Acceptance criteria:
- add_item with quantity 0 returns an equal dict; a negative quantity raises ValueError.
- an invalid SKU ("ab", "TOO-LONG-SKU-1", "") raises ValueError naming the SKU.
- remove_item that empties an SKU removes the key altogether.
- low_stock with an empty stock returns []; ties in quantity are ordered by SKU.
- merge never mutates its arguments; SKUs present in one side only are kept.
- every function leaves its input dicts unchanged (they are shared between threads)."""

CODER_TASK = """Write inventory.py so that these tests pass:

```python
import pytest

from inventory import add_item, low_stock, merge, remove_item


def test_add_item_adds_to_a_new_dict():
    stock = {"ABC1": 2}
    assert add_item(stock, "ABC1", 3) == {"ABC1": 5}
    assert stock == {"ABC1": 2}


def test_add_item_with_zero_returns_an_equal_dict():
    assert add_item({"ABC1": 2}, "ABC1", 0) == {"ABC1": 2}


@pytest.mark.parametrize("sku", ["ab", "TOO-LONG-SKU-1", "", "abc1"])
def test_invalid_skus_are_refused_by_name(sku):
    with pytest.raises(ValueError, match=repr(sku)):
        add_item({}, sku, 1)


def test_negative_quantities_are_refused():
    with pytest.raises(ValueError, match="quantity"):
        add_item({}, "ABC1", -1)


def test_remove_item_that_empties_an_sku_drops_the_key():
    assert remove_item({"ABC1": 2, "XYZ9": 1}, "ABC1", 2) == {"XYZ9": 1}


def test_removing_more_than_in_stock_is_refused():
    with pytest.raises(ValueError, match="ABC1"):
        remove_item({"ABC1": 2}, "ABC1", 3)


def test_low_stock_orders_by_quantity_then_sku():
    stock = {"BBB2": 1, "AAA1": 1, "CCC3": 0, "DDD4": 9}
    assert low_stock(stock, 5) == ["CCC3", "AAA1", "BBB2"]
    assert low_stock({}, 5) == []


def test_merge_adds_and_keeps_one_sided_skus_without_mutating():
    a, b = {"AAA1": 1, "BBB2": 2}, {"BBB2": 3, "CCC3": 4}
    assert merge(a, b) == {"AAA1": 1, "BBB2": 5, "CCC3": 4}
    assert a == {"AAA1": 1, "BBB2": 2} and b == {"BBB2": 3, "CCC3": 4}
```"""

JUDGE_SYSTEM = """You are the judge of a software factory. You read a scenario and the output of a
program, and you say whether the output satisfies the scenario. Answer with PASS or FAIL and one
sentence of reason."""

GENERATION_PROMPT = (
    "Write a Python module implementing a binary search tree with insert, delete, search, "
    "and in-order traversal, with a docstring for every method."
)
