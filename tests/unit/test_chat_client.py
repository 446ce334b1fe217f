"""The harness's endpoint client against a real HTTP/1.1 server on loopback: it keeps its connection
across streamed answers (reading each body to its end), and turns refusals and error events into
errors that name the status and the server's own message."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from evals.run.chat_client import ChatClient, EndpointError, EndpointStatusError

CHUNKS = [{"choices": [{"index": 0, "delta": {"content": "Par"}, "finish_reason": None}]},
          {"choices": [{"index": 0, "delta": {"content": "is"}, "finish_reason": "stop"}]},
          {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}]


class Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.connections, self.reply = 0, (200, b"")
        self.stall_after: int | None = None  # chunked: the body in two parts with pauses (a slow stream)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, bodies delimited by Content-Length

            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                status, body = server.reply
                self.send_response(status)
                if server.stall_after is None:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("Transfer-Encoding", "chunked")  # as streaming servers send it, a part at a time
                self.end_headers()
                try:
                    for part in (body[:server.stall_after], body[server.stall_after:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        self.wfile.flush()
                        time.sleep(0.3)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client left mid-answer, as the test has it do

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield s
    s.shutdown()
    s.server_close()


def client(server: Server) -> ChatClient:
    return ChatClient(f"http://127.0.0.1:{server.server_address[1]}/v1", api_key="k", timeout_s=5, connections=2)


def events(*chunks: object) -> bytes:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"


def test_streamed_answers_are_parsed_and_share_one_kept_connection(server: Server) -> None:
    server.reply = (200, events(*CHUNKS))
    c = client(server)
    for _ in range(5):
        assert list(c.stream({"model": "m", "messages": []})) == CHUNKS
    assert server.connections == 1


def test_a_refusal_names_its_status_and_the_servers_message(server: Server) -> None:
    server.reply = (401, json.dumps({"error": {"message": "bad key", "type": "auth"}}).encode())
    with pytest.raises(EndpointStatusError) as e:
        list(client(server).stream({}))
    assert e.value.status == 401 and str(e.value) == "bad key (HTTP 401 Unauthorized)"
    server.reply = (502, b"<html>proxy down</html>")  # not OpenAI's shape: the text itself
    with pytest.raises(EndpointStatusError, match=r"<html>proxy down</html> \(HTTP 502 Bad Gateway\)"):
        list(client(server).stream({}))


def test_an_error_event_or_a_garbled_event_in_the_stream_is_an_error(server: Server) -> None:
    server.reply = (200, events(CHUNKS[0], {"error": {"message": "the model crashed"}}))
    with pytest.raises(EndpointError, match="the model crashed"):
        list(client(server).stream({}))
    server.reply = (200, b"data: {not json\n\n")
    with pytest.raises(EndpointError, match="not JSON"):
        list(client(server).stream({}))


def test_an_answer_left_mid_stream_does_not_leak_into_the_next_on_its_connection(server: Server) -> None:
    server.reply, server.stall_after = (200, events(*CHUNKS)), len(events(CHUNKS[0])) - len(b"data: [DONE]\n\n")
    c = client(server)
    chunks = c.stream({"model": "m", "messages": []})
    assert next(chunks) == CHUNKS[0]
    chunks.close()  # as at a deadline: the rest of this answer is still on its way
    server.stall_after = None
    assert list(c.stream({"model": "m", "messages": []})) == CHUNKS  # not the rest of the first
    assert server.connections == 2
