"""Database plumbing shared by the domain packages: engines, sessions and migrations."""
