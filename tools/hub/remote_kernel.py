"""Run code in a kernel of a Jupyter server the way JupyterLab does: REST for the session, then
the kernel's websocket for execute requests (the JSON protocol, no subprotocol).

Used by ``tests/test_jupyterhub.py`` (one client per hub user, all at once) and by
``tools/hub/measure.py``. Needs only tornado, which every Jupyter server brings.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import struct
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect


class KernelError(RuntimeError):
    """The server refused a request, the websocket closed, or the kernel did not answer in time."""


class KernelTimeout(KernelError):
    """No reply within the time allowed."""


@dataclass
class CellResult:
    """What one execute request produced: the kernel's status, its text outputs and any error."""

    code: str
    status: str = ""
    stdout: str = ""
    stderr: str = ""
    results: list[str] = field(default_factory=list)  # text/plain of execute_result / display_data
    error: str | None = None  # "EName: value" of an error output
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.error is None and "Traceback" not in self.stderr


def _parse_binary(data: bytes) -> dict:
    """A binary frame of the JSON protocol: n, n offsets, the message JSON, then its buffers."""
    (n,) = struct.unpack("!I", data[:4])
    offsets = struct.unpack(f"!{n}I", data[4:4 + 4 * n])
    end = offsets[1] if n > 1 else len(data)
    return json.loads(data[offsets[0]:end])


class RemoteKernel:
    """One notebook session on a Jupyter server (``base_url`` ends with the server's base path)."""

    def __init__(self, base_url: str, token: str, path: str, kernel_name: str = "python3"):
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.path = path
        self.kernel_name = kernel_name
        self.session_id: str | None = None
        self.kernel_id: str | None = None
        self.client_session = uuid.uuid4().hex
        self._ws: WebSocketClientConnection | None = None
        self._http = AsyncHTTPClient()

    # --- REST ---
    async def request(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> dict | list:
        req = HTTPRequest(self.base_url + path, method=method,
                          headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
                          body=None if body is None else json.dumps(body),
                          allow_nonstandard_methods=True, request_timeout=timeout)
        try:
            resp = await self._http.fetch(req)
        except HTTPClientError as e:
            text = e.response.body.decode(errors="replace")[:500] if e.response is not None else ""
            raise KernelError(f"{method} {self.base_url + path} -> {e.code}: {text}") from e
        if not resp.body or "json" not in resp.headers.get("Content-Type", ""):
            return {}  # a page (HTML) or an empty reply
        return json.loads(resp.body)

    async def start(self, timeout: float = 120) -> RemoteKernel:
        """Create the session (the server starts a kernel in the notebook's folder) and connect."""
        model = await self.request("POST", "api/sessions", {
            "path": self.path, "name": self.path.rsplit("/", 1)[-1], "type": "notebook",
            "kernel": {"name": self.kernel_name}}, timeout=timeout)
        assert isinstance(model, dict)
        self.session_id, self.kernel_id = model["id"], model["kernel"]["id"]
        parts = urlsplit(self.base_url)
        ws_url = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc,
                             f"{parts.path}api/kernels/{quote(self.kernel_id)}/channels",
                             f"session_id={self.client_session}", ""))
        self._ws = await websocket_connect(
            HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"}, request_timeout=timeout),
            max_message_size=256 * 1024 * 1024)
        await self._wait_ready(timeout)
        return self

    async def _wait_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:  # ask until the kernel answers: the first request may be lost
            msg_id = self._send("kernel_info_request", {})
            try:
                await self._collect(msg_id, "kernel_info_reply", CellResult(""), min(10.0, deadline - loop.time()))
                return
            except KernelTimeout:
                continue
        raise KernelError(f"kernel {self.kernel_id} did not answer kernel_info within {timeout} s")

    # --- the websocket ---
    def _send(self, msg_type: str, content: dict) -> str:
        assert self._ws is not None, "start() first"
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "username": "toplab-test",
                  "session": self.client_session, "version": "5.3",
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        self._ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                           "content": content, "channel": "shell", "buffers": []}))
        return msg_id

    async def _next(self, timeout: float) -> dict:
        assert self._ws is not None
        raw = await asyncio.wait_for(self._ws.read_message(), timeout)
        if raw is None:
            raise KernelError(f"the websocket of kernel {self.kernel_id} closed")
        return _parse_binary(raw) if isinstance(raw, bytes) else json.loads(raw)

    async def _collect(self, msg_id: str, reply_type: str, out: CellResult, timeout: float) -> CellResult:
        """Read messages until the reply and the idle status for ``msg_id`` have both arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        got_reply = got_idle = False
        while not (got_reply and got_idle):
            left = deadline - loop.time()
            if left <= 0:
                raise KernelTimeout(f"no {reply_type} within {timeout:.0f} s for: {out.code[:120]!r}")
            try:
                msg = await self._next(left)
            except asyncio.TimeoutError:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg.get("msg_type") or msg["header"]["msg_type"], msg.get("content", {})
            if kind == reply_type:
                got_reply, out.status = True, content.get("status", "")
                if out.status == "error" and out.error is None:
                    out.error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                got_idle = True
            elif kind == "stream":
                if content.get("name") == "stderr":
                    out.stderr += content.get("text", "")
                else:
                    out.stdout += content.get("text", "")
            elif kind in ("execute_result", "display_data"):
                out.results.append(content.get("data", {}).get("text/plain", ""))
            elif kind == "error":
                tb = "\n".join(content.get("traceback", []))[-1500:]
                out.error = f"{content.get('ename')}: {content.get('evalue')}\n{tb}"
        return out

    async def execute(self, code: str, timeout: float = 180) -> CellResult:
        """Run ``code`` as a notebook cell; return its outputs (raises KernelError on a timeout)."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        msg_id = self._send("execute_request", {"code": code, "silent": False, "store_history": True,
                                                "user_expressions": {}, "allow_stdin": False,
                                                "stop_on_error": True})
        out = await self._collect(msg_id, "execute_reply", CellResult(code), timeout)
        out.seconds = loop.time() - t0
        return out

    async def shutdown(self, timeout: float = 60) -> None:
        """Close the websocket and delete the session (the server stops the kernel)."""
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        if self.session_id is not None:
            await self.request("DELETE", f"api/sessions/{self.session_id}", timeout=timeout)
            self.session_id = None
