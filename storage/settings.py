"""Where the embedded database lives; read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str

    @classmethod
    def from_env(cls) -> Settings:
        """SQLite under var/ by default, so one machine works with no servers."""
        default = f"sqlite:///{PROJECT_ROOT / 'var' / 'butler.db'}"
        return cls(database_url=os.environ.get("DATABASE_URL", default))
