"""Every text the system sends, as templates (Indonesian first), fitted to SMS budgets."""
