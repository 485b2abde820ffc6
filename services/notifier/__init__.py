"""notifier: Alert delivery to Discord, Slack and a generic webhook, with retry and de-duplication."""
