"""Carrier adapters: one package per carrier, each reading all of that carrier's tracking API formats."""

__all__: list[str] = []
