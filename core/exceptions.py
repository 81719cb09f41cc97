class ServiceError(Exception):
    """A rule refused a change; the message is translated and safe to show the user."""

    def __init__(self, message, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)
