"""Card decline codes: which ones may be retried (soft) and which never (hard).

Card networks forbid retrying a card that was reported lost or stolen, belongs to a closed
account, or came back "do not try again"; retrying those only earns fees and penalties. Codes
follow Stripe's decline codes (https://docs.stripe.com/declines/codes); an unknown code is soft,
so a new issuer message never cancels a subscription by itself. ``authentication_required``
is hard for an off-session charge: only the customer can complete it.
"""

from __future__ import annotations

HARD_DECLINE_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "do_not_try_again",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "stop_payment_order",
        "security_violation",
        "invalid_account",
        "account_closed",
        "card_not_supported",
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "fraudulent",
        "merchant_blacklist",
        "authentication_required",
        "no_payment_method",
    }
)

SOFT_DECLINE_CODES = frozenset(
    {
        "insufficient_funds",
        "card_declined",
        "generic_decline",
        "do_not_honor",
        "processing_error",
        "try_again_later",
        "issuer_not_available",
        "card_velocity_exceeded",
        "withdrawal_count_limit_exceeded",
        "reenter_transaction",
        "approve_with_id",
    }
)


def is_hard_decline(code: str) -> bool:
    """True for codes that must never be retried on the same card."""
    return code.strip().lower() in HARD_DECLINE_CODES


def decline_outcome(code: str) -> str:
    """``hard_decline`` or ``soft_decline`` for a provider's decline code."""
    return "hard_decline" if is_hard_decline(code) else "soft_decline"
