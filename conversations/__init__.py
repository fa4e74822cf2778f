"""Conversations with enterprises: every turn, the hand-off state (bot → waiting → butler → bot), the inbox."""
