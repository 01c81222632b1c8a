"""What every Orderly app shares. A new app (say ``subscriptions``) uses it in a few lines:

Errors, mapped to HTTP once
    ``core.errors.ApplicationError(message, field=..., code=...)`` is the one error a service
    raises when a business rule refuses. DRF views let it propagate: ``core.api.exception_handler``
    (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``) answers ``{field: [message]}`` with the status of
    its code (``invalid`` 400, ``conflict`` 409, ``not_found`` 404, ``permission`` 403, ... see
    ``core.api.STATUS_BY_CODE``).

History
    Give the app's history model an ``EVENTS`` enumeration (``models.TextChoices``) and an
    ``event`` field with its choices; write rows only with
    ``core.history.history_write(Model, Event.X, subject=..., actor=actor_of(user), ...)``.
    ``core.history.actor_of(user)`` is how a user appears as an actor.

Webhook inbox
    ``core.models.WebhookEvent`` stores every signed event before it is acted on. In the app's
    ``AppConfig.ready``: ``core.webhooks.register_source("subscription", act=..., not_found=...)``;
    in its webhook view: ``return core.webhooks.receive(request, source="subscription:<sender>",
    secret=core.webhooks.setting_secret("SUBSCRIPTION_WEBHOOK_SECRETS", sender),
    serializer_class=...)`` (parse the setting from the environment in ``config.settings`` with
    ``env_secrets``). The retry sweep (``retry_webhook_events``: command, Celery task, in-process
    workers' periodic hook) acts again on events left failed.

Customer e-mails
    Put ``templates/notifications/<app>/<name>.subject.txt`` and ``.body.txt`` in place and call
    ``core.notifications.notify_customer(template="<app>/<name>", to=..., context={...},
    key=<idempotency key>)``: one e-mail per key, sent after commit.

Also: ``core.money`` (integer minor units: splits, allocation, display), ``core.messages.
publish_once`` (a buffered process message, de-duplicated by id), ``core.http.safe_next`` (a
posted ``next`` that stays on this site) and the ``status_style`` template filter.
"""
