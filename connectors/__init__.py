"""Channels through which enterprises reach the gateway (web chat; WeChat arrives with its issue)."""
