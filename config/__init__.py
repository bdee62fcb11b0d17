"""Settings from the environment and the data files the product runs on."""
