"""Errors the command line and the console show to administrators, each one Chinese sentence."""

from __future__ import annotations


class AccountError(Exception):
    """Base class: ``str(exc)`` is a complete Chinese message for the user."""


class UserNotFound(AccountError):
    """No account has this name."""
