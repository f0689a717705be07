"""The project's named exceptions. Each carries a message a person can act on."""


class OutreachMonitorError(Exception):
    """Base class: the command line prints these as one line and exits non-zero."""

    exit_code = 1


class ConfigError(OutreachMonitorError):
    """Settings are missing, unreadable, unknown or invalid (the key is named)."""

    exit_code = 2


class InputError(OutreachMonitorError):
    """A message file or corpus could not be read or parsed."""


class AuthError(OutreachMonitorError):
    """Signing in or refreshing a token failed; the message says how to fix it."""


class ReconnectNeeded(AuthError):
    """The customer's consent or refresh token is gone: someone must sign in again."""


class GraphError(OutreachMonitorError):
    """Microsoft Graph answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class MailboxUnreadable(GraphError):
    """The mailbox cannot be read (access denied, not enabled for REST, gone)."""


class SyncStateLost(GraphError):
    """Graph dropped the delta state (410 SyncStateNotFound / resyncRequired): resync."""


class AlertDeliveryError(OutreachMonitorError):
    """Slack refused an alert for a reason that retrying will not fix."""
