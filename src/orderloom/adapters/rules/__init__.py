"""Rule engine adapters: the compiled CEL evaluator."""

__all__: list[str] = []
