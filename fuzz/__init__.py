"""Coverage-guided fuzz harnesses (atheris): run them with scripts/fuzz, not pytest.

Each module is one target (`python -m fuzz.<target> [libFuzzer flags]`); the
shared set-up lives in fuzz/runner.py. The properties mirror tests/fuzz, which
runs the same ideas as hypothesis tests inside the normal suite.
"""
