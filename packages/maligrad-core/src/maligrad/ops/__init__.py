"""The differentiable ops: one :class:`~maligrad.Function` subclass each, grouped by kind."""
