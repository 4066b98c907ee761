"""Notification channels of the responder: signed webhook, PagerDuty Events v2, apprise, log."""
