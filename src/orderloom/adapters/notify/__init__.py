"""Notification adapters: templates (babel), SMTP email, signed webhooks, the log sink, and the send ledger."""

__all__: list[str] = []
