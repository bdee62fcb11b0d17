"""HTTP surfaces for people and operators: health, simulator, admin API, Open311, metrics."""
