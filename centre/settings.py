"""Django settings for the centre: the composition root of the web site, read once at start."""

from pathlib import Path

from centre import config
from protocol.event import LOCAL_TIME_ZONE

BASE_DIR = Path(__file__).resolve().parent
# Every setting the environment gives is read here, once, through centre.config's helpers (text,
# number, flag); the rest of the site reads these settings, never os.environ.
CENTRE_HOME = config.home()  # $VHD_CENTRE_HOME, else /etc/vhd-centre
SECRET_KEY = config.secret_key()
DEBUG = config.flag("VHD_CENTRE_DEBUG")
# The portal's own host name (from its public address) is always served, so the address on every
# poster works without naming it twice; VHD_CENTRE_HOSTS adds others.
ALLOWED_HOSTS = config.allowed_hosts(config.text("VHD_CENTRE_HOSTS", "127.0.0.1,localhost"),
                                     config.portal_url())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "centre.accounts.apps.Config",
    "centre.ledger.apps.Config",
    "centre.checkpoints.apps.Config",
    "centre.fleet.apps.Config",
    "centre.reports.apps.Config",
    "centre.portal.apps.Config",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "centre.accounts.middleware.content_security_policy",
    "centre.accounts.middleware.private_pages",
    "centre.accounts.middleware.UnreadableRequest",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "centre.accounts.middleware.language",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "centre.accounts.middleware.DatabaseUnavailable",
]
ROOT_URLCONF = "centre.urls"
WSGI_APPLICATION = "centre.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "django.template.context_processors.i18n",
        "centre.accounts.views.roles",
    ]},
}]
DATABASES = {"default": config.django_databases(config.database_url())}
# A PostgreSQL streaming replica for reports and tracing (centre/reports/replica.py): read while at
# most VHD_CENTRE_REPLICA_MAX_LAG seconds behind, else the primary.
if config.text("VHD_CENTRE_REPLICA_DB"):
    DATABASES["replica"] = {**config.django_databases(config.text("VHD_CENTRE_REPLICA_DB")),
                            "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["centre.reports.replica.ReportsRouter"]
REPLICA_MAX_LAG_S = config.number("VHD_CENTRE_REPLICA_MAX_LAG", 30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords: argon2 first; sessions in the database (a restart logs nobody out, logout ends the
# session on the server).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher",
                    "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                             "OPTIONS": {"min_length": 10}},
                            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"}]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 8 * 3600  # staff and units, who look people up: a working day
# A person on their own phone: signed in for a month, not asked for an SMS code every morning at
# the door; only their own declarations are behind it, and signing out ends it.
PERSON_SESSION_SECONDS = 30 * 86400
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: a phone camera opening a poster's address is a cross-site navigation, and the
# person must arrive signed in; cross-site POSTs still carry no cookie, and CSRF tokens guard them.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a TLS proxy (docs/nginx.conf): cookies only over HTTPS, HSTS, the proxy's scheme trusted.
if config.flag("VHD_CENTRE_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = LOCAL_TIME_ZONE
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = None  # served from the package by whitenoise's finders: no collectstatic step
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve from the package without a collectstatic step

# Login throttle: failures per address and per user name in a window, counted in the database.
LOGIN_WINDOW_SECONDS = 15 * 60
ATTEMPTS_KEPT_SECONDS = 3600  # the longest window a limit counts in (SMS codes per address, staff look-ups)
LOGIN_MAX_PER_USER = config.number("VHD_CENTRE_LOGIN_MAX_PER_USER", 5)
LOGIN_MAX_PER_ADDRESS = config.number("VHD_CENTRE_LOGIN_MAX_PER_ADDRESS", 30)
LOGIN_MAX_PER_USER_EVERYWHERE = config.number("VHD_CENTRE_LOGIN_MAX_PER_USER_EVERYWHERE", 200)
AUTHENTICATION_BACKENDS = ["centre.accounts.backends.ThrottledModelBackend", "centre.portal.backends.PhoneCodeBackend"]
# Behind the proxy every request comes from 127.0.0.1: the client is the address the proxy adds.
CLIENT_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR" if config.flag("VHD_CENTRE_TLS_PROXY") else None

# People's portal: SMS codes (console for development, file for the demo and tests, http for a
# real gateway), the issuer's signing key for the declarations' QR codes.
SMS_BACKEND = config.text("VHD_SMS_BACKEND", "console")  # a dotted path, or console, file, http, locmem
SMS_FILE = config.text("VHD_SMS_FILE", str(CENTRE_HOME / "sms.jsonl"))
SMS_URL = config.text("VHD_SMS_URL")
SMS_TOKEN_FILE = config.text("VHD_SMS_TOKEN_FILE")
SMS_TEMPLATE = config.text("VHD_SMS_TEMPLATE", '{"to": "{phone}", "message": "{text}"}')
SMS_TIMEOUT_SECONDS = 5
SMS_CODE_SECONDS = config.number("VHD_SMS_CODE_SECONDS", 300)
SMS_PLAIN = config.flag("VHD_SMS_PLAIN")  # codes without diacritics, for a gateway that needs plain text
SMS_MAX_TRIES = 5
SMS_MAX_PER_PHONE = 3  # codes per number in 15 minutes
SMS_MAX_PER_ADDRESS = config.number("VHD_SMS_MAX_PER_ADDRESS", 10)  # codes per address in an hour
# Staff at a door look people up by phone number: per unit, at most this many an hour; the audit log
# flags a unit that reaches the lower figure.
STAFF_LOOKUPS_PER_HOUR = config.number("VHD_STAFF_LOOKUPS_PER_HOUR", 60)
STAFF_LOOKUPS_FLAGGED = config.number("VHD_STAFF_LOOKUPS_FLAGGED", 30)
STAFF_DECLARATIONS_PER_HOUR = config.number("VHD_STAFF_DECLARATIONS_PER_HOUR", 120)  # walk-ins a unit declares
# A card staff print for someone without a phone: how long its QR is valid (the district's choice).
PRINTED_CARD_DAYS = min(config.number("VHD_PRINTED_CARD_DAYS", 14), 90)
PORTAL_URL = config.portal_url()  # the checkpoints' QR codes open this address
AUTHORITY_DIR = config.text("VHD_AUTHORITY_DIR", str(CENTRE_HOME / "authority"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line": {"()": "centre.config.OneLine"}, "no_row": {"()": "centre.config.WithoutRowDetail"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "filters": ["no_row"]},
                 "one_line": {"class": "logging.StreamHandler", "filters": ["one_line"]}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    # Request lines can carry a traced person's id in a query: Django's request logger says only
    # what failed, and gunicorn's access log is off (vhd-centre serve). A request for a host the
    # site does not serve (a scanner, a misconfigured proxy) is one line, not a traceback.
    "loggers": {"django.request": {"level": "ERROR"},
                "django.security": {"handlers": ["one_line"], "level": "WARNING", "propagate": False}},
}
