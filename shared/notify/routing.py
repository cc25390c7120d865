"""Which channel reaches a person (pure): their preference, then WhatsApp (opted in, with an approved template for
this alert), SMS, e-mail, skipping every channel they opted out of and a phone Twilio reported invalid. Managers
get e-mail unless they chose otherwise (escalations and digests read better there)."""

from __future__ import annotations

from shared.directory.contacts import Contact

ORDER = ('whatsapp', 'sms', 'email')


def channels(contact: Contact, *, manager: bool, has_template: bool) -> list[str]:
    """The usable channels for this person, best first (the second is the fallback when the first fails for good)."""
    if not contact.active:
        return []
    phone_ok = bool(contact.phone) and not contact.invalid_phone
    usable = {
        'whatsapp': phone_ok and contact.whatsapp_opt_in and has_template and 'whatsapp' not in contact.opted_out,
        'sms': phone_ok and 'sms' not in contact.opted_out,
        'email': bool(contact.email),
    }
    preferred = contact.alert_channel or ('email' if manager else None)
    order = ([preferred] if preferred in usable else []) + [channel for channel in ORDER if channel != preferred]
    return [channel for channel in order if usable[channel]]


def unreachable_reason(contact: Contact | None) -> str:
    if contact is None:
        return 'not in the directory'
    if not contact.active:
        return 'inactive in the directory'
    reasons = []
    if not contact.phone:
        reasons.append('no phone')
    elif contact.invalid_phone:
        reasons.append('phone reported invalid (21211)')
    else:
        reasons.extend(f'opted out of {channel}' for channel in sorted(contact.opted_out))
    if not contact.email:
        reasons.append('no e-mail')
    return ', '.join(reasons) or 'no usable channel'
