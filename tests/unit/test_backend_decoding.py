"""Token ids -> streamed text: stop sequences (OpenAI semantics) and characters split across tokens."""

from __future__ import annotations

from lsp_server.model.backends.decoding import TextAssembler


def assembler(pieces: list[bytes], stop: tuple[str, ...] = ()) -> tuple[TextAssembler, list[int]]:
    return TextAssembler(lambda i: pieces[i], stop), list(range(len(pieces)))


def run(pieces: list[bytes], stop: tuple[str, ...] = ()) -> tuple[list[str], TextAssembler]:
    a, ids = assembler(pieces, stop)
    out = [a.feed(i) for i in ids]
    out.append(a.finish())
    return out, a


def test_plain_text_streams_token_by_token() -> None:
    out, a = run([b"def", b" f", b"():"])
    assert out == ["def", " f", "():", ""]
    assert a.text == "def f():" and not a.stopped


def test_a_stop_sequence_ends_the_answer_and_is_not_included() -> None:
    out, a = run([b"x = 1", b"\n", b"y = 2"], stop=("\n",))
    assert "".join(out) == "x = 1" and a.stopped
    assert a.feed(2) == ""  # nothing after a stop


def test_a_stop_sequence_split_across_tokens_is_held_back_then_cut() -> None:
    out, a = run([b"code", b"`", b"``", b" more"], stop=("```",))
    assert out[:2] == ["code", ""]  # the backtick might start the fence: held back
    assert "".join(out) == "code" and a.stopped


def test_held_back_text_that_was_not_a_stop_is_released() -> None:
    out, a = run([b"a `", b"b` c"], stop=("```",))
    assert "".join(out) == "a `b` c" and not a.stopped
    out, a = run([b"tail `"], stop=("```",))
    assert out == ["tail ", "`"]  # only the end of the generation decides it


def test_the_earliest_of_several_stop_sequences_wins() -> None:
    out, a = run([b"one\n\ntwo```"], stop=("```", "\n\n"))
    assert "".join(out) == "one"


def test_a_stop_at_the_very_start_gives_an_empty_answer() -> None:
    out, a = run([b"\n", b"text"], stop=("\n",))
    assert out == ["", "", ""] and a.text == "" and a.stopped


def test_multibyte_characters_split_across_tokens_come_out_whole() -> None:
    emoji = "🙂".encode()
    cjk = "漢字".encode()
    pieces = [emoji[:2], emoji[2:], b" ", cjk[:1], cjk[1:4], cjk[4:]]
    out, a = run(pieces)
    assert out == ["", "🙂", " ", "", "漢", "字", ""]
    assert a.text == "🙂 漢字" and "\ufffd" not in a.text


def test_a_stop_sequence_after_non_ascii_text() -> None:
    out, a = run(["日本語\tタブ".encode(), "。\r\nnext".encode()], stop=("\r\n",))
    assert "".join(out) == "日本語\tタブ。"


def test_special_tokens_with_no_bytes_add_nothing() -> None:
    out, a = run([b"", b"ok", b""])
    assert "".join(out) == "ok"
