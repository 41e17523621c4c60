"""Fixtures for the shared kernel's tests: a real SeaweedFS S3 server when SORTLINE_TEST_S3=1."""

from tests.support.seaweed import seaweed_s3  # noqa: F401  (a fixture, used by name)
