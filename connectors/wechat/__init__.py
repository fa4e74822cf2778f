"""WeChat mini-program protocol: settings, push crypto and parsing, reply rendering, the API client.

Pure protocol code with no web framework; the gateway wires it to ``/wechat/push``, the
mini-program log-in and its background deliveries. Nothing here is read until WeChat is used.

- ``settings``: ``WeChatSettings.from_env()`` (``WECHAT_*``), ``enabled`` when all four credentials are set.
- ``crypto``: ``check_signature``, ``msg_signature``, ``check_timestamp``, ``WeChatCrypto`` (secure mode)
  and the ``WeChatCryptoError`` family (``SignatureError``, ``DecryptError``, ``AppIdMismatch``,
  ``TimestampOutOfWindow``), each with a Chinese ``reason`` and a 4xx ``status``.
- ``messages``: ``read_push`` (verify, decrypt, parse XML or JSON) → ``TextMessage``, ``ImageMessage``,
  ``MiniProgramPageMessage``, ``UserEnterTempSession`` or ``Unsupported``, each with a ``dedupe_key``;
  ``MessageParseError`` for bad bodies.
- ``render``: ``plan_messages`` (frames → ``OutgoingMessage`` within the quota), ``split_text``,
  ``ButtonMemory`` (a reply “2” → the button's payload).
- ``api``: ``WeChatApi`` (stable token, custom/send, typing, subscribe/send, jscode2session,
  msg_sec_check) with ``WeChatApiError``, ``QuotaExceeded``, ``NotSubscribed``, ``WeChatUnavailable``.

Tests and the scripted fake WeChat server: ``tests/wechat/`` (``fake_api.FakeWeChat``).
"""
