import pytest

from notices.backends import reset_backends


@pytest.fixture(autouse=True)
def _link_backend(settings):
    """The outbox belongs to the link process: the task queue's sender leaves it alone."""
    settings.SMS_BACKEND = "smpp"
    reset_backends()
    yield
    reset_backends()
