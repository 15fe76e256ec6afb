"""Webhooks, the service side: the HTTP routes and the ``slaclock webhooks`` dispatcher."""
