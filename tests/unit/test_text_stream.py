"""Streaming text: nothing of a stop string is shown, split characters are held, all text arrives once."""

from __future__ import annotations

from engine.text_stream import TextStream


def byte_decode(ids: list[int]) -> str:
    return bytes(ids).decode("utf-8", errors="replace")


def run(text: str, stop: tuple[str, ...] = ()) -> tuple[list[str], TextStream]:
    data, stream, shown = list(text.encode()), TextStream(byte_decode, stop), []
    for i in range(1, len(data) + 1):
        shown.append(stream.push(data[:i]))
        if stream.stopped:
            break
    shown.append(stream.flush())
    return shown, stream


def test_all_text_arrives_exactly_once_and_multibyte_characters_whole() -> None:
    shown, stream = run("naïve café ☕ done")
    assert "".join(shown) == "naïve café ☕ done" == stream.text
    assert not any("\ufffd" in piece for piece in shown)


def test_stop_string_cuts_the_text_and_is_never_shown() -> None:
    shown, stream = run("The answer is 4.\nUser: more", stop=("\nUser:",))
    assert stream.stopped and stream.text == "The answer is 4."
    assert "".join(shown) == "The answer is 4."


def test_prefix_of_a_stop_string_is_released_once_disproven() -> None:
    shown, stream = run("a\nUs and b", stop=("\nUser:",))
    assert not stream.stopped and "".join(shown) == "a\nUs and b"


def test_earliest_of_several_stop_strings_wins() -> None:
    _, stream = run("one two three", stop=("three", "two"))
    assert stream.text == "one "
