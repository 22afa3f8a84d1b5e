"""An answer that runs away (a line repeated, or counting up) is ended, not read to max_tokens."""

from __future__ import annotations

import pytest

from localfactory.llm.runaway import RunawayGuard
from localfactory.llm.scripted import ScriptedBackend

HEAD = '```python\nimport pytest\n\n@pytest.mark.parametrize("args, expected", [\n'
COUNTING = "".join(
    f'    (["head-lite", "file.txt", "10", "{n}"], pytest.raises(SystemExit)),\n'
    for n in range(11, 71)
)  # the 1.5B's loop on head-lite, sixty rows until max_tokens


def test_a_counting_loop_is_ended_after_the_limit_and_said_so(settings):
    backend = ScriptedBackend(
        settings=settings, script=[HEAD + COUNTING + "])\n```\n"], chunk_size=7
    )
    result = backend.chat("write tests", options={"max_tokens": 4000}).result()
    rows = [line for line in result.text.splitlines() if "head-lite" in line]
    assert len(rows) == 12 and rows[-1].endswith('"22"], pytest.raises(SystemExit)),')
    assert result.finish_reason == "length"  # read as an answer cut off
    assert "12 lines in a loop" in result.details["runaway"]
    assert result.generated_tokens == -(-len(result.text) // 7)  # the chunks read, not 4000


def test_the_same_line_again_and_again_is_a_loop_too(settings):
    answer = "def f(x):\n" + "    x = x + 1  # again\n" * 40 + "    return x\n"
    backend = ScriptedBackend(settings=settings, script=[answer])
    result = backend.chat("go", options={"runaway_lines": 5}).result()
    assert result.text.count("x = x + 1") == 5
    assert "return x" not in result.text


@pytest.mark.parametrize(
    "table",
    [
        [f"    ({y}, {y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)})," for y in range(1890, 1930)],
        [f"    ({n}, {sum(map(int, str(n)))})," for n in range(100, 140)],  # two numbers move
        [f"    assert square({n}) == {n * n}" for n in range(40)],
        [f"    ({n}, 'item{n}')," for n in range(40)],
        ["    (1, 'I'),", "    (4, 'IV'),", "    (9, 'IX'),", "    (40, 'XL'),"] * 10,
    ],
    ids=["leap-years", "digit-sums", "squares", "two-numbers", "roman-table"],
)
def test_long_tables_whose_rows_differ_in_more_than_a_count_are_read_to_the_end(settings, table):
    answer = "cases = [\n" + "\n".join(table) + "\n]\n"
    backend = ScriptedBackend(settings=settings, script=[answer], chunk_size=3)
    result = backend.chat("go").result()
    assert result.text == answer
    assert result.finish_reason == "stop" and "runaway" not in result.details


def test_zero_turns_the_guard_off(settings):
    answer = "    print('same line')\n" * 50
    backend = ScriptedBackend(settings=settings, script=[answer])
    assert backend.chat("go", options={"runaway_lines": 0}).text() == answer


def test_where_the_chunks_break_the_lines_does_not_matter():
    text = "x\n" + "".join(f"    call(arg, {n})  # step\n" for n in range(3, 30, 3))
    for size in (1, 2, 5, 11, len(text)):
        guard = RunawayGuard(6)
        fed = [text[i : i + size] for i in range(0, len(text), size)]
        stopped_at = next(i for i, chunk in enumerate(fed) if guard.feed(chunk))

        def rows(chunks: list[str]) -> int:
            read = "".join(chunks)
            return read[: read.rfind("\n") + 1].count("call(")

        assert rows(fed[:stopped_at]) < 6 <= rows(fed[: stopped_at + 1])  # the 6th row ends it
        assert guard.describe() == "6 lines in a loop, ending 'call(arg, 18)  # step'"


def test_a_new_loop_after_other_lines_counts_from_its_own_start():
    guard = RunawayGuard(4)
    lines = ["row(1)", "row(2)", "row(3)", "something else", "row(7)", "row(9)", "row(11)"]
    assert not any(guard.feed(line + "\n") for line in lines)  # 3 lines, then 3 again
    assert guard.feed("row(13)\n")


def test_a_loop_of_test_functions_is_ended_after_nine_of_them(settings):
    """word-wrap on the 1.5B: 55 tests ``def test_wrap_N(): assert wrap("a verylongword b",
    N + 2) == [...]`` until max_tokens, nine minutes, and none of them was right."""
    tests = "".join(
        f'def test_wrap_{n}():\n    assert wrap("a verylongword b", {n + 2}) == ["a", "b"]\n\n'
        for n in range(1, 56)
    )
    answer = "```python\nfrom wrapping import wrap\n\n" + tests + "```\n"
    backend = ScriptedBackend(settings=settings, script=[answer], chunk_size=5)
    result = backend.chat("go").result()
    assert result.text.count("def test_wrap_") == 9
    assert result.details["runaway"].startswith("18 lines in a loop")


def test_separate_tests_that_differ_in_more_than_a_count_are_read_to_the_end(settings):
    tests = "".join(
        f"def test_case_{n}():\n    assert wrap('{'ab ' * n}', {n}) == {['ab'] * n}\n\n"
        for n in range(1, 30)
    )
    backend = ScriptedBackend(settings=settings, script=[tests], chunk_size=9)
    assert backend.chat("go", options={"max_tokens": 4000}).text() == tests


def test_a_stop_asked_during_an_answer_ends_it_at_once_and_only_inside_the_block(settings):
    from localfactory.llm.backend import CallStopped, stoppable

    backend = ScriptedBackend(
        settings=settings, script=[["one ", "two ", "three ", "four"], "again"]
    )
    read: list[str] = []
    with stoppable(lambda: len(read) >= 2), pytest.raises(CallStopped):
        for chunk in backend.chat("go"):
            read.append(chunk)
    assert read == ["one ", "two "]
    assert backend.chat("go").text() == "again"  # outside the block nothing stops an answer


def test_a_line_that_repeats_a_piece_over_and_over_is_ended(settings):
    """tiny-calc on the 1.5B: one assert line growing '+ 1 - 2 + 3 / 4 ' for 1,500 tokens."""
    head = 'def test_long():\n    assert tokenize("2 + 3 * 4 / 2 - 1 '
    answer = head + "+ 1 - 2 + 3 / 4 " * 150 + '") == []\n'
    backend = ScriptedBackend(settings=settings, script=[answer], chunk_size=4)
    result = backend.chat("go", options={"max_tokens": 4000}).result()
    said = result.details["runaway"]
    piece = said.removeprefix("a line repeating '").removesuffix("' over and over")
    assert len(piece) == 16 and piece in "+ 1 - 2 + 3 / 4 " * 2  # the piece, from where it stopped
    assert len(result.text) < len(head) + 320 + 4  # a span and a piece past the first rounds


def test_long_lines_that_do_not_repeat_are_read_to_the_end(settings):
    words = " ".join(f"word{n}" for n in range(200))
    answer = f"assert wrap({words!r}, 10) == {words.split()!r}\n"
    backend = ScriptedBackend(settings=settings, script=[answer], chunk_size=8)
    assert backend.chat("go", options={"max_tokens": 4000}).text() == answer
