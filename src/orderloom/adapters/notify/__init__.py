"""Notification adapters: outgoing webhooks, templates (babel), SMTP e-mail, the log sink and the send ledger."""

__all__: list[str] = []
