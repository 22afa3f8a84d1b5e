"""Reference for examples/suite/hard/kv-service.md."""

import argparse
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ITEM = re.compile(r"^/items/([A-Za-z0-9_-]+)$")
_STORE: dict[str, str] = {}


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _key(self) -> str | None:
        match = _ITEM.match(self.path)
        return match.group(1) if match else None

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        elif self.path == "/items":
            self._send(200, {"keys": sorted(_STORE)})
        elif (key := self._key()) is None:
            self._send(404, {"error": "no such path"})
        elif key in _STORE:
            self._send(200, {"key": key, "value": _STORE[key]})
        else:
            self._send(404, {"error": "not found"})

    def do_PUT(self) -> None:
        key = self._key()
        if key is None:
            self._send(404, {"error": "no such path"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            self._send(400, {"error": 'the body must be a JSON object with a string "value"'})
            return
        _STORE[key] = body["value"]
        self._send(200, {"key": key, "value": body["value"]})

    def do_DELETE(self) -> None:
        key = self._key()
        if key is None or key not in _STORE:
            self._send(404, {"error": "not found"})
            return
        del _STORE[key]
        self._send(204)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="kv_service")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
