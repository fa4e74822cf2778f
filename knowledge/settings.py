"""Where the knowledge base reads its database and seed data from; read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from storage.settings import PROJECT_ROOT
from storage.settings import Settings as StorageSettings

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_EMBEDDING_CACHE = PROJECT_ROOT / "var" / "embeddings"


@dataclass(frozen=True)
class Settings:
    database_url: str
    demo_dir: Path
    catalogue_path: Path | None
    dense: bool = True  # KNOWLEDGE_DENSE=0 answers from the lexical search alone (for comparison)
    embedding_cache: Path | None = DEFAULT_EMBEDDING_CACHE  # None keeps guide vectors in memory only

    @classmethod
    def from_env(cls) -> Settings:
        """Defaults work out of the box: the shared SQLite file and the demo guides shipped in the package."""
        catalogue = os.environ.get("KNOWLEDGE_CATALOGUE", "").strip()
        cache = os.environ.get("KNOWLEDGE_EMBEDDING_CACHE")
        return cls(
            database_url=os.environ.get("DATABASE_URL") or StorageSettings.from_env().database_url,
            demo_dir=Path(os.environ.get("KNOWLEDGE_DEMO_DIR") or PACKAGE_DIR / "demo"),
            catalogue_path=Path(catalogue) if catalogue else None,
            dense=os.environ.get("KNOWLEDGE_DENSE", "1").strip().lower() not in {"0", "false", "no", "off"},
            # an empty value turns the disk cache off; unset uses var/embeddings
            embedding_cache=(Path(cache.strip()) if cache.strip() else None)
            if cache is not None
            else DEFAULT_EMBEDDING_CACHE,
        )
