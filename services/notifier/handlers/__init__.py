"""notifier handlers: bus messages and requests in, domain calls, facts out."""
