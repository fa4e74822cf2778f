"""Service-guide knowledge base (办事指南): records, import/export, storage queries and the ``butler kb`` CLI."""
