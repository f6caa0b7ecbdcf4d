"""The SMS gateway's JSON body: the operator's template with {phone} and {text} filled in, checked
where it is set (centre install) and where it is used (the site), with the same words."""

from __future__ import annotations

from common import jsontext


def sms_body(template: str, phone: str, text: str) -> dict:
    """The body to POST; ValueError saying what is wrong with the template (not JSON, not an object,
    or with no {phone} or no {text} among its string values)."""
    try:
        body = jsontext.loads(template)
    except ValueError as exc:  # json.JSONDecodeError's msg has no position in it
        raise ValueError(f"the SMS template is not JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(body, dict):
        raise ValueError("the SMS template is not a JSON object, e.g. {\"to\": \"{phone}\", \"message\": \"{text}\"}")
    values = [v for v in body.values() if isinstance(v, str)]
    for field in ("{phone}", "{text}"):
        if not any(field in v for v in values):
            raise ValueError(f"the SMS template has no {field} in its values")
    return {k: (v.replace("{phone}", phone).replace("{text}", text) if isinstance(v, str) else v)
            for k, v in body.items()}
