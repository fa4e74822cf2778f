"""The official WeChat push vectors (public WeChat documentation and WXBizMsgCrypt samples).

Shared by the crypto and message tests and by the gateway's end-to-end tests: each is the
exact input WeChat sent and the output its documentation gives.
"""

from __future__ import annotations

from typing import Any

URL_VERIFY: dict[str, str] = {
    "token": "AAAAA",
    "timestamp": "1714036504",
    "nonce": "1514711492",
    "echostr": "4375120948345356249",
    "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
}

PLAIN_POST: dict[str, str] = {
    "token": "AAAAA",
    "timestamp": "1714037059",
    "nonce": "486452656",
    "signature": "899cf89e464efb63f54ddac96b0a0a235f53aa78",
    "body": '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",'
    '"CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
}

SECURE_POST: dict[str, Any] = {
    "token": "AAAAA",
    "aes_key": "A" * 43,
    "appid": "wxba5fad812f8e6fb9",
    "timestamp": "1714112445",
    "nonce": "415670741",
    "encrypt": "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZ"
    "qzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQ"
    "rKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJ"
    "Gj04=",
    "msg_signature": "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
    "signature": "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
    "random16": b"a8eedb185eb2fecf",
    "msg_len": 167,
    "plain": b'{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",'
    b'"CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
}

SECURE_REPLY: dict[str, Any] = {
    "token": "AAAAA",
    "aes_key": "A" * 43,
    "appid": "wxba5fad812f8e6fb9",
    "plain": b'{"demo_resp":"good luck"}',
    "random16": b"707722b803182950",
    "timestamp": "1713424427",
    "nonce": "415670741",
    "encrypt": "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
    "msg_signature": "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
}

LEGACY_XML: dict[str, Any] = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "appid": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "encrypt": "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHF"
    "VAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8"
    "dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJ"
    "SVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM66"
    "9WuMyVWQLCzpu9GhglF2PE=",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "random16": b"89465c840c5f116f",
    "msg_len": 280,
    "plain": (
        b"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
        b"<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
        b"<CreateTime>1409735668</CreateTime>\n"
        b"<MsgType><![CDATA[text]]></MsgType>\n"
        b"<Content><![CDATA[abcdteT]]></Content>\n"
        b"<MsgId>6054768590064713728</MsgId>\n"
        b"</xml>"
    ),
}

WECHATPY: dict[str, Any] = {
    "token": "123456",
    "aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    "appid": "wx49f0ab532d5d035a",
    "timestamp": "1411525903",
    "nonce": "461056294",
    "encrypt": "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXz"
    "F6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cv"
    "kKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpk"
    "HHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K"
    "9QaNWHp91eBdCRxthuL0=",
    "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
    "random16": b"ec90b1530358d4d3",
    "msg_len": 281,
    "plain": (
        b"<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
        b"<FromUserName><![CDATA[messense]]></FromUserName>\n"
        b"<CreateTime>1411525903</CreateTime>\n"
        b"<MsgType><![CDATA[text]]></MsgType>\n"
        b"<Content><![CDATA[test]]></Content>\n"
        b"<MsgId>4363689963896700987</MsgId>\n"
        b"<AgentID>1</AgentID>\n"
        b"</xml>"
    ),
}

ENCRYPTED_VECTORS: dict[str, dict[str, Any]] = {
    "secure_post": SECURE_POST,
    "legacy_xml": LEGACY_XML,
    "wechatpy": WECHATPY,
}
