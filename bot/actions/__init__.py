"""Custom actions. They stay thin: read the tracker, call a package service, utter, return events."""
