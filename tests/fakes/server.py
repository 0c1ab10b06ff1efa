"""A threaded HTTP server on 127.0.0.1 that a fake provider plugs its routes into."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Request:
    """What a route handler sees of one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes):
        parsed = urllib.parse.urlsplit(handler.path)
        self.method = handler.command
        self.path = parsed.path
        self.raw_query = parsed.query
        self.query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.headers = {key.lower(): value for key, value in handler.headers.items()}
        self.body = body

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self):
        return json.loads(self.body or b"null")


class Response:
    def __init__(self, body: bytes | str = b"", status: int = 200, headers: dict | None = None):
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.headers = headers or {}

    @classmethod
    def json(cls, data, status: int = 200, headers: dict | None = None) -> "Response":
        body = json.dumps(data, ensure_ascii=False).encode()
        return cls(body, status, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def redirect(cls, url: str) -> "Response":
        return cls(b"", 302, {"Location": url})

    @classmethod
    def html(cls, text: str, status: int = 200) -> "Response":
        return cls(text, status, {"Content-Type": "text/html; charset=utf-8"})


class FakeServer:
    """Serves `handle(request) -> Response` of a subclass on a free loopback port.

    Use as a context manager, or start()/stop(); `url` is its base URL.
    `requests` keeps every request received, for tests to assert on.
    """

    def __init__(self):
        self.requests: list[Request] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: Request) -> Response:  # pragma: no cover - subclasses
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self, self.rfile.read(length) if length else b"")
                fake.requests.append(request)
                try:
                    response = fake.handle(request)
                except Exception as exc:  # a bug in the fake: say so, do not hang
                    response = Response(f"fake server error: {exc!r}", 500)
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format, *args):  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
