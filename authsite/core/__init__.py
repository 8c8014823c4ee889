"""The kernel: clock, event log, client IP, redirects, parsing, links, user agents. Imports no app of the project."""
