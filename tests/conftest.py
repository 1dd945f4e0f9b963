"""Settings for the whole suite."""

from hypothesis import HealthCheck, settings

# Property tests check behaviour, never speed: no per-example deadline and no "too slow"
# health check, so a loaded machine cannot fail them (speed lives in bench/).
settings.register_profile(
    "ctibridge", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ctibridge")
