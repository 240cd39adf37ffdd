"""Inbox → archive: every file a unit sends is kept byte for byte under its sha256 before anything reads it."""
