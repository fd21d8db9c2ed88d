"""The incremental splitters: frames cut anywhere between chunks come out whole and in order."""

from __future__ import annotations

import pytest

from emulator.record.splitting import LineSplitter, SseEvent, SseSplitter, TextDecoder


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def sse(data: bytes, size: int) -> list[SseEvent]:
    splitter = SseSplitter()
    events = [event for chunk in chunked(data, size) for event in splitter.feed(chunk)]
    return events + splitter.close()


SIZES = [1, 2, 3, 7, 1000]


@pytest.mark.parametrize("size", SIZES)
def test_sse_events_split_anywhere_come_out_whole(size: int) -> None:
    data = 'event: token\ndata: {"content":"héllo"}\n\nevent: done\ndata: {}\n\n'.encode()
    assert sse(data, size) == [
        SseEvent('{"content":"héllo"}', "token"),
        SseEvent("{}", "done"),
    ]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_sse_line_endings_crlf_cr_and_lf(size: int, newline: bytes) -> None:
    data = newline.join([b"event: token", b"data: a", b"", b"data: b", b"", b""])
    assert sse(data, size) == [SseEvent("a", "token"), SseEvent("b")]


@pytest.mark.parametrize("size", SIZES)
def test_sse_multi_line_data_comments_ids_and_unknown_fields(size: int) -> None:
    data = (
        b"\xef\xbb\xbf: a comment\n"  # a BOM first, then a comment
        b"id: 7\nretry: 10\nfoo: bar\n"
        b"data: first\ndata:second\ndata\n\n"  # no space after the colon; a bare field
        b"event: nothing\n\n"  # no data: not dispatched
        b"data: last\n"  # unterminated at the end: dropped, as browsers do
    )
    assert sse(data, size) == [SseEvent("first\nsecond\n", "message", "7")]


@pytest.mark.parametrize("size", SIZES)
def test_ndjson_lines_split_anywhere_and_the_last_unterminated_line(size: int) -> None:
    data = b'{"a":1}\r\n{"b":"x\ry"}\n\n{"c":"\xc3\xa9"}'
    splitter = LineSplitter()
    lines = [line for chunk in chunked(data, size) for line in splitter.feed(chunk)]
    assert lines + splitter.close() == ['{"a":1}', '{"b":"x\ry"}', "", '{"c":"é"}']


def test_a_cr_at_a_chunk_end_waits_for_the_next_chunk() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\r") == []
    assert splitter.feed(b"\ntwo\r") == ["one"]
    assert splitter.close() == ["two"]


def test_text_holds_back_a_character_cut_in_two() -> None:
    decoder = TextDecoder()
    assert decoder.feed("é".encode()[:1]) == ""
    assert decoder.feed("é".encode()[1:] + b"!") == "é!"
    assert decoder.close() == ""
