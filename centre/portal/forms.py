"""The portal's forms: a phone number, its SMS code, the Ministry's declaration form."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centre import places
from protocol.event import citizen_id_ok
from protocol.person import normalise_address, normalise_insurance, normalise_name, normalise_phone

MESSAGES = {"too_many": _("Too many codes asked for: wait a few minutes."),
            "wrong": _("Wrong code."), "expired": _("The code has expired: ask for a new one."),
            "too_many_tries": _("Too many wrong codes: ask for a new one."),
            "phone_full": _("This phone already holds %(n)d valid declarations, the most it may: declare again "
                            "when one of them has expired.")}


class Text(forms.CharField):
    """Text whose limit the server checks and the error states ("at most 200 characters (it has
    266)"): no maxlength attribute, with which a browser cuts a pasted address short without a word."""

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


class Checked(Text):
    """Text kept as `normalise` gives it back, or refused with `message` where that gives None."""

    message = ""
    normalise: Callable[[str], str | None] = staticmethod(str.strip)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        kept = self.normalise(value)
        if kept is None:
            raise forms.ValidationError(self.message)
        return kept


class PlaceText(Checked):
    """An address, a commune's or a place's name (`normalise_address`)."""

    normalise = staticmethod(normalise_address)
    message = _("Letters, digits, spaces and , . - / ' # ( ) only: no other symbols or emoji.")


class PersonName(Checked):
    """A person's name as the QR card and the gate's screen draw it (`normalise_name`)."""

    normalise = staticmethod(normalise_name)
    message = _("Letters only (Vietnamese or Latin), with spaces, '-', '.' or ', at most 100: no digits, symbols "
                "or emoji.")


def yes_no(label) -> forms.TypedChoiceField:
    """A health question answered Có or Không, both explicit: no answer is not "no"."""
    return forms.TypedChoiceField(label=label, choices=[("yes", _("Yes")), ("no", _("No"))],
                                  coerce=lambda value: value == "yes", widget=forms.RadioSelect,
                                  error_messages={"required": _("Answer Yes or No.")})


class ProvinceSelect(forms.Select):
    """The province's list with a "Chọn" button beside it: without JavaScript the button sends the
    form back to list that province's wards (nothing judged yet); portal.js hides it and fills the
    wards' list as soon as a province is picked."""

    template_name = "portal/province_select.html"


class AddressForm(forms.Form):
    """A place by its official codes: the province or city, then its ward, commune or special zone
    (both lists from `centre.places`). Where `OLD_ADDRESS` is allowed, a person who still writes the
    address from before July 2025 gives its district and commune as words instead of a ward.
    Cleaned: `province_code`, `ward_code` (or None), and the names `province`, `commune`, `district`."""

    OLD_ADDRESS = True
    REQUIRED = True  # False: the codes may be left out (a filter; the district's own checkpoints)
    province_code = forms.TypedChoiceField(label=_("Province / city"), coerce=int, empty_value=None,
                                           widget=ProvinceSelect(attrs={"data-wards": "/dia-ban/"}))
    ward_code = forms.TypedChoiceField(label=_("Ward / commune"), coerce=int, empty_value=None, required=False,
                                       help_text=_("Listed once the province is chosen."))
    district = PlaceText(label=_("Old address (before July 2025): district"), max_length=80, required=False,
                    help_text=_("Only if you do not know your new ward or commune: the district and the commune "
                                "as your papers still write them."))
    commune = PlaceText(label=_("Old address: commune / ward"), max_length=80, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province_code"].choices = [("", _("— choose —"))] + list(places.provinces())
        picked = self.data.get(self.add_prefix("province_code")) if self.is_bound else \
            self.initial.get("province_code")
        try:
            wards = places.wards(int(picked)) if picked else ()
        except (TypeError, ValueError):
            wards = ()
        ward = self.fields["ward_code"]
        ward.choices = [("", _("— choose —"))] + list(wards)
        ward.widget.attrs["data-province-field"] = self["province_code"].auto_id
        if not self.OLD_ADDRESS:
            del self.fields["district"], self.fields["commune"]
            ward.required = self.REQUIRED
        self.fields["province_code"].required = self.REQUIRED

    def clean(self):
        data = super().clean()
        code = data.get("province_code")
        if code is None:
            return data
        data["province"] = places.province_name(code)
        ward = places.ward_of(data.get("ward_code"))
        if ward is not None and ward[1] == code:  # its choices are the province's: checked again all the same
            data["commune"], data["district"] = ward[0], None
        elif not self.OLD_ADDRESS:
            self.add_error("ward_code", _("Choose the ward or commune from the list."))
        elif not (data.get("district") and data.get("commune")):  # each already normalised by PlaceText
            self.add_error("ward_code", _("Choose your ward or commune; or, for an address from before July 2025, "
                                          "write its district and commune below."))
        else:
            data["ward_code"] = None
        return data


class PlaceFilter(AddressForm):
    """A list narrowed to a province, and within it a ward, by their codes (both optional)."""

    OLD_ADDRESS = False
    REQUIRED = False

    def clean(self):
        return forms.Form.clean(self)  # a filter: no ward needed


def address_form(form_class, request, **kwargs):
    """The request's form: after "Chọn" (a province picked without JavaScript) the same answers
    shown again, the province's wards listed and nothing marked wrong yet."""
    if request.method == "POST" and "pick" in request.POST:
        return form_class(initial={**kwargs.pop("initial", {}), **request.POST.dict()}, **kwargs)
    return form_class(request.POST or None, **kwargs)


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))

    def clean_phone(self):
        phone = normalise_phone(self.cleaned_data["phone"])
        if not phone:
            raise forms.ValidationError(_("A Vietnamese mobile number: 10 digits starting 03, 05, 07, 08 or 09."))
        return phone


class CodeForm(forms.Form):
    code = forms.CharField(label=_("6-digit code"), min_length=6, max_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


class DeclarationForm(AddressForm):
    field_order = ["full_name", "citizen_id", "passport", "birth_year", "sex", "nationality", "province_code",
                   "ward_code", "district", "commune", "address_line", "phone", "email", "insurance_no"]
    full_name = PersonName(label=_("Full name"), max_length=100)
    citizen_id = forms.CharField(label=_("Citizen id (12 digits)"), max_length=12, required=False)
    passport = Text(label=_("or passport number"), max_length=20, required=False)
    birth_year = forms.IntegerField(label=_("Birth year"), min_value=1900)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("M", _("male")), ("F", _("female"))])
    nationality = PlaceText(label=_("Nationality"), max_length=60, initial="Việt Nam")
    address_line = PlaceText(label=_("House number, street"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email (if you wish)"), max_length=254, required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    insurance_no = forms.CharField(label=_("Health-insurance card (15 characters)"), max_length=15, required=False)
    symptoms = yes_no(_("In the last 14 days: fever, cough, shortness of breath, sore throat, "
                        "loss of taste or smell?"))
    exposure = yes_no(_("Contact with a confirmed or suspected case?"))
    travel = yes_no(_("Travel through an area with cases?"))
    relation = PlaceText(label=_("Declaring for a relative: who they are to you (leave empty for yourself)"),
                         max_length=40, required=False)
    consent = forms.BooleanField(label=_("I commit that what I declared is true, and I agree that it is processed "
                                         "for epidemic control as the page on personal data says."),
                                 error_messages={"required": _("Without this commitment and consent nothing is "
                                                               "stored.")})

    def clean_citizen_id(self):
        value = self.cleaned_data["citizen_id"].strip()
        if value and not citizen_id_ok(value):
            raise forms.ValidationError(_("12 digits."))
        return value

    def clean_passport(self):
        value = "".join(self.cleaned_data["passport"].split()).upper()
        if value and not (value.isascii() and value.isalnum() and 5 <= len(value) <= 20):
            raise forms.ValidationError(_("5 to 20 Latin letters and digits, as in the passport."))
        return value

    def clean_email(self):
        value = self.cleaned_data["email"].strip()
        if value and not value.isascii():
            raise forms.ValidationError(_("An email address in Latin letters, digits and ._-+@ only."))
        return value.lower()

    def clean_birth_year(self):
        year = self.cleaned_data["birth_year"]
        if year > timezone.now().year:
            raise forms.ValidationError(_("A real year."))
        return year

    def clean_phone(self):
        value = self.cleaned_data["phone"]
        if not value:
            return ""
        phone = normalise_phone(value)
        if not phone:
            raise forms.ValidationError(_("A Vietnamese mobile number."))
        return phone

    def clean_insurance_no(self):
        value = self.cleaned_data["insurance_no"].strip()
        if not value:
            return ""
        card = normalise_insurance(value)
        if card is None:
            raise forms.ValidationError(_("15 characters: 2 letters then 13 digits, as on the card."))
        return card

    def clean(self):
        data = super().clean()
        if "citizen_id" in self.errors:
            return data  # its own message says what is wrong: no second one above it
        if not data.get("citizen_id") and not (data.get("passport") or "").strip():
            raise forms.ValidationError(_("Give a citizen id or a passport number."))
        return data
