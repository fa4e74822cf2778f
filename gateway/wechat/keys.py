"""Typed application keys of the WeChat channel (set by ``gateway.wechat.wechat_ctx``)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from connectors.wechat.api import WeChatApi
from connectors.wechat.crypto import WeChatCrypto

# the WeChat API client; absent when WeChat is not configured (the endpoints then answer 404/503)
WECHAT_API_KEY = web.AppKey("wechat_api", WeChatApi)
# the background work a push started (processing, delivery): awaited or cancelled at shutdown
WECHAT_TASKS_KEY: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("wechat_tasks")
# secure-mode crypto for pushes (token, EncodingAESKey, appid); absent when WeChat is not configured
WECHAT_CRYPTO_KEY = web.AppKey("wechat_crypto", WeChatCrypto)
