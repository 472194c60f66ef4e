"""Readers of historical order data sets (used to train and evaluate models)."""

__all__: list[str] = []
