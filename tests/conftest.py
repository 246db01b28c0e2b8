"""Suite-wide settings."""

from hypothesis import HealthCheck, settings

# The machines are shared: no example may fail for being slow, nor input generation be judged on speed.
settings.register_profile("linehaul", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("linehaul")

# The local cloud (fake GCS, BigQuery emulator) as fixtures for every folder that needs it.
pytest_plugins = ["tests.cloud"]
