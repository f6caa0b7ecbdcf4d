"""A content security policy on every response: only the site's own scripts, styles and images."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def content_security_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        return response

    return middleware


def language(get_response):
    """Vietnamese unless the user chose English (the language switch's cookie): a browser set to
    English does not turn the district's site English by itself."""
    from django.conf import settings
    from django.utils import translation

    choices = dict(settings.LANGUAGES)

    def middleware(request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang not in choices:
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response

    return middleware
