"""Production settings: every secret comes from the environment, HTTPS only.

Required (no defaults here): SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, SMS_WEBHOOK_SECRET,
SMS_HTTP_TOKEN, BANK_HOTLINE; with SMS_BACKEND=cmpp also SMS_CMPP_HOST, SMS_CMPP_SP_ID,
SMS_CMPP_SECRET, SMS_CMPP_SERVICE_ID and SMS_CMPP_SRC_ID. `manage.py check --deploy
--fail-level WARNING` passes with just those.
"""

from .base import *  # noqa: F403
from .base import _tune_database, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", expected="a long random secret")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", expected="host names separated by commas, e.g. notices.bank.example"
)
DATABASES = {"default": _tune_database(env.db("DATABASE_URL"))}
SMS_WEBHOOK_SECRET = env("SMS_WEBHOOK_SECRET", expected="a random secret of at least 32 characters")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", expected="the token the SMS platform issued")
BANK_HOTLINE = env(
    "BANK_HOTLINE", expected="the bank's own hotline (every notice gives it; never the demo's)"
)
# A production deployment talks to the bank's SMS platform unless told otherwise.
SMS_BACKEND = env(
    "SMS_BACKEND",
    default="http",
    expected="console, locmem, file, http, kannel, jasmin, smpp, cmpp or a dotted path",
)
if SMS_BACKEND == "cmpp":  # the ISMG's address and our credentials: no development defaults
    SMS_CMPP_HOST = env("SMS_CMPP_HOST", expected="the ISMG's host")
    SMS_CMPP_SP_ID = env("SMS_CMPP_SP_ID", expected="the 6-character SP code")
    SMS_CMPP_SECRET = env("SMS_CMPP_SECRET", expected="the shared secret")
    SMS_CMPP_SERVICE_ID = env("SMS_CMPP_SERVICE_ID", expected="the service id")
    SMS_CMPP_SRC_ID = env("SMS_CMPP_SRC_ID", expected="the bank's 106 number")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Cookies only over HTTPS; the __Host- prefix also pins them to this exact host.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Host-csrftoken"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

env.stop_if_invalid()
