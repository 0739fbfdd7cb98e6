"""The differentiable ops: one [Function][maligrad.Function] subclass each, grouped by kind."""
