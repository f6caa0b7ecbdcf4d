"""What a person sees and hears for each decision: screen, beep/LED pattern, door relay."""

from __future__ import annotations

from datetime import tzinfo

from PIL import Image

from device.policy import ACCEPTED, REPEAT, Decision
from device.screens import Screens
from drivers.signals import Pattern

# One short beep and green; two quick beeps and green blinks; three beeps and red.
PATTERNS = {
    "accepted": Pattern("accepted", beep_on=0.12, beep_off=0.0, beeps=1,
                        led="green", led_on=1.5, led_off=0.0, blinks=1),
    "repeat": Pattern("repeat", beep_on=0.06, beep_off=0.08, beeps=2,
                      led="green", led_on=0.2, led_off=0.2, blinks=3),
    "rejected": Pattern("rejected", beep_on=0.25, beep_off=0.1, beeps=3,
                        led="red", led_on=2.0, led_off=0.0, blinks=1),
}


def render(screens: Screens, d: Decision, tz: tzinfo, now) -> Image.Image:
    if d.outcome == ACCEPTED:
        return screens.accepted(d.name or "", d.direction or "in", now.astimezone(tz))
    if d.outcome == REPEAT:
        return screens.repeat(d.name or "", d.direction or "in", (d.previous_at or now).astimezone(tz))
    return screens.rejected(d.reason or "not_a_declaration")


def pattern_for(d: Decision) -> Pattern:
    return PATTERNS[d.outcome]
