"""Shared helpers of the office STAND-INS (Nuagerie tests, not Collabora nor OnlyOffice).

HS256 JSON Web Tokens (what OnlyOffice signs and checks, jsonwebtoken's default algorithm), a
threaded HTTP(S) server, and one-line logging to stdout (the journal).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(message: str) -> None:
    """One line on stdout (systemd puts it in the journal)."""
    print(time.strftime("%Y-%m-%dT%H:%M:%S ") + message, flush=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_sign(payload: dict, secret: str, expires_in: int | None = 300) -> str:
    """An HS256 token of ``payload`` (``iat``/``exp`` added like jsonwebtoken does)."""
    body = dict(payload)
    now = int(time.time())
    body.setdefault("iat", now)
    if expires_in:
        body.setdefault("exp", now + expires_in)
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    data = head + "." + _b64(json.dumps(body, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest()
    return data + "." + _b64(sig)


class JwtError(Exception):
    """A token that does not verify."""


def jwt_verify(token: str, secret: str, leeway: int = 60) -> dict:
    """The payload of a valid HS256 token; :class:`JwtError` otherwise (bad form, alg, signature, expiry)."""
    try:
        head_b64, body_b64, sig_b64 = token.split(".")
        head = json.loads(_unb64(head_b64))
        body = json.loads(_unb64(body_b64))
        sig = _unb64(sig_b64)
    except (ValueError, json.JSONDecodeError) as exc:
        raise JwtError(f"malformed token: {exc}") from exc
    if head.get("alg") != "HS256":
        raise JwtError(f"algorithm {head.get('alg')!r} refused")
    expected = hmac.new(secret.encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        raise JwtError("invalid signature")
    if isinstance(body.get("exp"), (int, float)) and body["exp"] + leeway < time.time():
        raise JwtError("jwt expired")
    if not isinstance(body, dict):
        raise JwtError("payload is not an object")
    return body


class Handler(BaseHTTPRequestHandler):
    """Base handler: JSON and text answers, body reading, quiet access log."""

    protocol_version = "HTTP/1.1"
    server_version = "standin"
    timeout = 120   # an idle keep-alive connection is closed after this

    def setup(self) -> None:
        # TLS handshake here, in the request's thread (not in accept(): a silent client would
        # block every other one).
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        log("%s %s" % (self.client_address[0], format % args))

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, code: int, data: bytes | str, content_type: str = "text/plain; charset=utf-8",
             headers: dict | None = None) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def send_json(self, code: int, doc: object, headers: dict | None = None) -> None:
        self.send(code, json.dumps(doc), "application/json", headers)


def serve(handler: type, address: str, port: int, cert: str | None = None, key: str | None = None) -> None:
    """Serve forever (TLS when a certificate is given)."""
    server = ThreadingHTTPServer((address, port), handler)
    server.daemon_threads = True
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    log(f"listening on {address}:{port} ({'https' if cert else 'http'})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(0)


def http_call(url: str, user_agent: str, data: bytes | None = None,
              headers: dict | None = None) -> tuple[int, bytes]:
    """GET (or POST ``data``) ``url`` as the server would, checking TLS against the trust store.

    Returns the status and body; an HTTP error is an answer (its status and body); no answer at
    all (refused, unresolved, timeout) is status 0 with the reason as body.
    """
    request = urllib.request.Request(url, data=data, headers={"User-Agent": user_agent, **(headers or {})},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=20, context=ssl.create_default_context()) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc).encode()
