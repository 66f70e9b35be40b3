"""The error every body check raises: answered with its status and detail, never a 500."""


class PayloadError(ValueError):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail
