"""Console accounts: butlers, department heads and administrators; passwords, log-in sessions, the audit log."""
