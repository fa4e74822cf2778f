"""Where the knowledge base reads its database and seed data from; read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from storage.settings import Settings as StorageSettings

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    demo_dir: Path
    catalogue_path: Path | None

    @classmethod
    def from_env(cls) -> Settings:
        """Defaults work out of the box: the shared SQLite file and the demo guides shipped in the package."""
        catalogue = os.environ.get("KNOWLEDGE_CATALOGUE", "").strip()
        return cls(
            database_url=os.environ.get("DATABASE_URL") or StorageSettings.from_env().database_url,
            demo_dir=Path(os.environ.get("KNOWLEDGE_DEMO_DIR") or PACKAGE_DIR / "demo"),
            catalogue_path=Path(catalogue) if catalogue else None,
        )
