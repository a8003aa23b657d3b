"""PTB's HTTP layer on the app's one shared aiohttp session (PTB's default httpx stack is the bottleneck of a
webhook bot), and a request body already encoded as JSON."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import aiohttp
from telegram.request import BaseRequest, RequestData

_DEFAULT = type(BaseRequest.DEFAULT_NONE)


class AiohttpRequest(BaseRequest):
    """PTB's pluggable HTTP layer on a shared `aiohttp.ClientSession` (owned by the app)."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        read_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        write_timeout: float = 10.0,
        media_write_timeout: float = 30.0,
    ):
        self._session = session
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._write_timeout = write_timeout
        self._media_write_timeout = media_write_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """The session belongs to the app; nothing to open here."""

    async def shutdown(self) -> None:
        """The app closes the shared session."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        from telegram.error import NetworkError, TimedOut

        files = request_data.multipart_data if request_data and request_data.contains_files else None
        read = self._read_timeout if isinstance(read_timeout, _DEFAULT) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, _DEFAULT) else connect_timeout
        write = (self._media_write_timeout if files else self._write_timeout) if isinstance(write_timeout, _DEFAULT) else write_timeout
        pool = connect if isinstance(pool_timeout, _DEFAULT) else pool_timeout
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=(pool or 0) + (connect or 0) or None,
            sock_connect=connect,
            sock_read=(read or 0) + (write or 0) or None,
        )
        data: Any = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for k, v in request_data.json_parameters.items():
                    form.add_field(k, v)
                for name, spec in files.items():
                    filename, content, mime = spec if len(spec) == 3 else (*spec, None)
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                # The Bot API takes JSON bodies; PTB's own JSON payload is encoded in C, where a form body would be
                # percent-encoded byte by byte in Python (and, given a dict, aiohttp builds a multipart writer).
                data = request_data.json_payload
        headers = {"User-Agent": self.USER_AGENT}
        if isinstance(data, bytes):
            headers["Content-Type"] = "application/json"
        try:
            async with self._session().request(method, url, data=data, timeout=timeout, headers=headers) as resp:
                return resp.status, await resp.read()
        except asyncio.TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}") from err


class JsonBody(RequestData):
    """A request body already encoded as JSON. PTB's `RequestData` encodes every parameter on its own and then
    the whole (a JSON string inside JSON); the Bot API takes nested objects as they are."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes):
        super().__init__()
        self._body = body

    @property
    def json_payload(self) -> bytes:
        return self._body

    @property
    def json_parameters(self) -> dict[str, str]:
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(self._body).items()}
