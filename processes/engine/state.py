"""Life-cycle states of element instances (as Zeebe's process instance intents name them).

https://docs.camunda.io/docs/components/zeebe/technical-concepts/internal-processing/
"""

from __future__ import annotations

ACTIVATING, ACTIVATED, COMPLETING = "ACTIVATING", "ACTIVATED", "COMPLETING"
COMPLETED, TERMINATING, TERMINATED = "COMPLETED", "TERMINATING", "TERMINATED"

# The element type of a multi-instance body (its inner instances have the element's own type).
MI_BODY = "MULTI_INSTANCE_BODY"
