from tests.core.private_redis import private_redis  # noqa: F401 - the fixture
