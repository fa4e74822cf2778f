"""WeChat mini-program protocol: settings, push crypto and parsing, reply rendering, the API client.

Pure protocol code with no web framework: the gateway wires it to ``/wechat/push`` and its
background tasks. Nothing here is needed (or read) until the WeChat feature is used.
"""
