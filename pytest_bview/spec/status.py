"""Chapter 7: the statusCode values of a ResponseStatus block.

    <ResponseStatus Version="1.0" xmlns="http://www.zwcloud.wang/ver10/XMLSchema">
      <requestURL>/Network/Interfaces/2</requestURL>
      <statusCode>0</statusCode>
    </ResponseStatus>

"For the upgrade: any if return value is greater than zero indicates an update failure."
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    OK = 0
    XML_URL_MISMATCH = -1  # "Decode error, maybe the XML and URL are not corresponding"
    REQUIRED_TAG_MISSING = -2  # "Decode error, XML <req> tag may be missing"
    UNSUPPORTED_OPERATION = -3
    WRONG_CHANNEL = -4  # "Decode error, wrong channel identifier"
    PARAMETER_ERROR = -5
    QUERY_LOG_BUSY = -6
    QUERY_LOG_ERROR = -7
    SDK_CALL_FAILED = -8
    MEMORY_OVERFLOW = -9
    URL_ERROR = -10
    USER_OVERFLOW = -11
    INVALID_OPERATION = -12
    USER_EXISTS = -13
    BUSY = -14  # "Camera is busy with previous event handling"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


DESCRIPTIONS: dict[Status, str] = {
    Status.OK: "Success",
    Status.XML_URL_MISMATCH: "Decode error, maybe the XML and URL are not corresponding",
    Status.REQUIRED_TAG_MISSING: "Decode error, XML <req> tag may be missing",
    Status.UNSUPPORTED_OPERATION: "Unsupported operation",
    Status.WRONG_CHANNEL: "Decode error, wrong channel identifier",
    Status.PARAMETER_ERROR: "Parameter error",
    Status.QUERY_LOG_BUSY: "Query log busy",
    Status.QUERY_LOG_ERROR: "Query log error",
    Status.SDK_CALL_FAILED: "SDK call failed",
    Status.MEMORY_OVERFLOW: "Memory overflow",
    Status.URL_ERROR: "URL Error",
    Status.USER_OVERFLOW: "User overflow",
    Status.INVALID_OPERATION: "Invalid operation",
    Status.USER_EXISTS: "User already exists",
    Status.BUSY: "Camera is busy with previous event handling",
}

# The HTTP status the reference camera pairs with each statusCode. The spec leaves it open
# (chapter 7 only says errors come back "as a XML with an error code"); the suites accept
# 200 or any 4xx with a ResponseStatus body and judge the statusCode (ERRATA.md).
HTTP_STATUS: dict[Status, int] = {
    Status.OK: 200,
    Status.URL_ERROR: 404,
    Status.BUSY: 503,
}


def http_status(code: Status) -> int:
    return HTTP_STATUS.get(code, 400)
