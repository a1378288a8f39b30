"""The errors the server answers with, in MLflow's shape and with MLflow's codes.

Every refusal is an :class:`ApiError`: the JSON body is
``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}`` and the HTTP
status is the one MLflow uses for that code, so MLflow's client raises the same
exception against this server as against its own. The message always names the
offending value and says what to do, since it is often read in a terminal.
"""

from __future__ import annotations

#: MLflow's error codes and their HTTP statuses (mlflow/exceptions.py).
STATUS = {
    "BAD_REQUEST": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}


class ApiError(Exception):
    """A request the server refuses; becomes an MLflow-shaped JSON error response."""

    def __init__(self, error_code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.status = status or STATUS.get(error_code, 400)

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


def invalid(message: str) -> ApiError:
    """A parameter has a value the server cannot accept (HTTP 400)."""
    return ApiError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    """The experiment, run, metric or artifact named does not exist (HTTP 404)."""
    return ApiError("RESOURCE_DOES_NOT_EXIST", message)


def too_large(limit: int, what: str = "request body") -> ApiError:
    """The body is over the server's limit (HTTP 413); the client must send less at once."""
    return ApiError(
        "INVALID_PARAMETER_VALUE",
        f"the {what} is larger than the server's limit of {limit} bytes; send it in smaller parts",
        413,
    )
